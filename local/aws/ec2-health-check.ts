// The Auto Scaling group's EC2 health check: an instance whose EC2 status checks fail (its machine
// is gone: the simulator's "kill -9 the instance") is marked Unhealthy after a detection delay (in
// AWS, the status checks' and the group's health check periods), and the group replaces it. As in
// AWS, an instance is checked only once it is InService; ELB-style checks stay explicit
// (markUnhealthy).
import type { EmulatedAutoScalingGroup } from "./auto-scaling-group";
import type { Clock } from "./clock";

export class Ec2HealthCheck {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly clock: Clock,
    private readonly detectionDelayMs: number,
    /** The group the instance belongs to now, if any. */
    private readonly groupOf: (instanceId: string) => EmulatedAutoScalingGroup | undefined,
  ) {}

  /** The instance fails its status checks from now on. */
  statusChecksFailed(instanceId: string): void {
    if (this.timers.has(instanceId)) return;
    this.check(instanceId);
  }

  stop(): void {
    for (const timer of this.timers.values()) this.clock.clearTimer(timer);
    this.timers.clear();
  }

  private check(instanceId: string): void {
    const timer = this.clock.setTimer(() => {
      this.timers.delete(instanceId);
      const group = this.groupOf(instanceId);
      const state = group?.instances().find((i) => i.id === instanceId)?.lifecycleState;
      if (group === undefined || state === undefined || state.startsWith("Terminat")) return;
      if (state === "InService") group.markUnhealthy(instanceId);
      else this.check(instanceId);
    }, this.detectionDelayMs);
    this.timers.set(instanceId, timer);
  }
}
