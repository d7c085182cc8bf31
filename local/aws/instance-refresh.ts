// Instance refresh of one emulated Auto Scaling group (StartInstanceRefresh, DescribeInstanceRefreshes,
// CancelInstanceRefresh) with AWS's rolling strategy: the instances the group has at the start are
// replaced, oldest first, in batches sized by the healthy percentages of the desired capacity —
// at least one instance per batch. MinHealthyPercentage (default 90) is what stays InService;
// MaxHealthyPercentage above 100 (default 100) lets a batch launch its replacements before the old
// instances terminate. The next batch starts once the batch's old instances are gone and every
// instance is InService and warmed up (InstanceWarmup after it went InService). Every launch and
// termination goes through the lifecycle hooks as any other does. The refresh fails when the launch
// of one of its replacements is abandoned (its instances fail to become healthy).
import { randomUUID } from "node:crypto";
import { AwsApiError } from "./api-error";
import type { FinishedLifecycleAction } from "./auto-scaling-group";
import type { Clock } from "./clock";
import type { EmulatedInstance } from "./types";

export type InstanceRefreshStatus =
  | "Pending"
  | "InProgress"
  | "Successful"
  | "Failed"
  | "Cancelling"
  | "Cancelled";

export interface RefreshPreferences {
  /** @default 90 */
  readonly minHealthyPercentage: number;
  /** Above 100: launch before terminate. @default 100 */
  readonly maxHealthyPercentage: number;
  /** How long a new instance warms up after it went InService. */
  readonly instanceWarmupSeconds: number;
}

/** What StartInstanceRefresh passes; the warmup default is the group's, so the caller resolves it. */
export type StartPreferences = Partial<RefreshPreferences> &
  Pick<RefreshPreferences, "instanceWarmupSeconds">;

export interface InstanceRefreshView {
  readonly id: string;
  readonly status: InstanceRefreshStatus;
  readonly statusReason: string | undefined;
  readonly startTime: number;
  readonly endTime: number | undefined;
  readonly percentageComplete: number;
  readonly instancesToUpdate: number;
  readonly preferences: RefreshPreferences;
}

/** What a refresh needs from its group. */
export interface RefreshedGroup {
  readonly name: string;
  readonly desiredCapacity: number;
  instances(): EmulatedInstance[];
  /** Terminate and launch: the group launches a replacement at once. */
  terminateInstance(instanceId: string, decrementDesiredCapacity: false): unknown;
  /** Launch before terminate: the instance goes once a replacement is InService. */
  replaceInstance(instanceId: string): void;
  finishedLifecycleActions(): readonly FinishedLifecycleAction[];
}

const ACTIVE: readonly InstanceRefreshStatus[] = ["Pending", "InProgress", "Cancelling"];

/** The refreshes of one group: at most one active at a time, the others kept for Describe. */
export class InstanceRefreshes {
  private readonly all: InstanceRefresh[] = [];

  constructor(
    private readonly group: RefreshedGroup,
    private readonly clock: Clock,
  ) {}

  /** StartInstanceRefresh: fills in the defaults and validates as AWS does. */
  start(preferences: StartPreferences): string {
    if (this.active()) {
      throw new AwsApiError(
        "InstanceRefreshInProgress",
        "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.",
      );
    }
    const resolved: RefreshPreferences = {
      minHealthyPercentage: preferences.minHealthyPercentage ?? 90,
      maxHealthyPercentage: preferences.maxHealthyPercentage ?? 100,
      instanceWarmupSeconds: preferences.instanceWarmupSeconds,
    };
    validate(resolved);
    const refresh = new InstanceRefresh(this.group, this.clock, resolved);
    this.all.unshift(refresh);
    return refresh.id;
  }

  /** Newest first, as DescribeInstanceRefreshes lists them. */
  describe(ids: readonly string[] = []): InstanceRefreshView[] {
    return this.all.filter((refresh) => ids.length === 0 || ids.includes(refresh.id)).map((r) => r.view());
  }

  /** CancelInstanceRefresh: no new batch starts; the one under way finishes first. */
  cancel(): string {
    const refresh = this.active();
    if (!refresh) {
      throw new AwsApiError(
        "ActiveInstanceRefreshNotFound",
        `No in progress or pending Instance Refresh found for Auto Scaling group ${this.group.name}`,
      );
    }
    refresh.cancel();
    return refresh.id;
  }

  /** The group changed (an instance went InService or left): the active refresh looks again. */
  groupChanged(): void {
    this.active()?.schedule();
  }

  stop(): void {
    for (const refresh of this.all) refresh.stop();
  }

  private active(): InstanceRefresh | undefined {
    return this.all.find((refresh) => ACTIVE.includes(refresh.status));
  }
}

function validate({
  minHealthyPercentage: min,
  maxHealthyPercentage: max,
  instanceWarmupSeconds,
}: RefreshPreferences) {
  const problem = !(min >= 0 && min <= 100)
    ? `MinHealthyPercentage must be between 0 and 100, got ${min}`
    : !(max >= 100 && max <= 200)
      ? `MaxHealthyPercentage must be between 100 and 200, got ${max}`
      : max - min > 100
        ? `The difference between MaxHealthyPercentage (${max}) and MinHealthyPercentage (${min}) cannot be greater than 100`
        : min === 100 && max === 100
          ? "MinHealthyPercentage and MaxHealthyPercentage cannot both be 100: no instance could be replaced"
          : !(instanceWarmupSeconds >= 0)
            ? `InstanceWarmup must be 0 or more, got ${instanceWarmupSeconds}`
            : undefined;
  if (problem !== undefined) throw new AwsApiError("ValidationError", problem);
}

class InstanceRefresh {
  readonly id = randomUUID();
  status: InstanceRefreshStatus = "Pending";
  private statusReason: string | undefined;
  private readonly startTime: number;
  private endTime: number | undefined;
  /** The instances to replace, oldest first: the group's at the start. */
  private readonly originals: readonly string[];
  /** Originals replaced by a finished batch (or gone by other means). */
  private readonly updated = new Set<string>();
  /** Old instances of the batch under way. */
  private readonly batch = new Set<string>();
  /** When each instance was first seen InService (warmup counts from there). */
  private readonly inServiceSince = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly group: RefreshedGroup,
    private readonly clock: Clock,
    readonly preferences: RefreshPreferences,
  ) {
    this.startTime = clock.now();
    const instances = group.instances().filter((i) => !i.lifecycleState.startsWith("Terminat"));
    this.originals = instances.sort((a, b) => a.launchTime - b.launchTime).map((i) => i.id);
    // The first look happens a moment later, so a Describe right after the start sees Pending.
    this.schedule();
  }

  view(): InstanceRefreshView {
    const total = this.originals.length;
    const done = this.updated.size;
    return {
      id: this.id,
      status: this.status,
      statusReason: this.statusReason,
      startTime: this.startTime,
      endTime: this.endTime,
      percentageComplete: total === 0 ? 100 : Math.floor((done * 100) / total),
      instancesToUpdate: total - done,
      preferences: this.preferences,
    };
  }

  cancel(): void {
    this.status = "Cancelling";
    this.statusReason = "Cancelling: the batch under way finishes, no new one starts.";
    this.schedule();
  }

  schedule(): void {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = this.clock.setTimer(() => this.step(), 0);
  }

  stop(): void {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private step(): void {
    this.timer = undefined;
    if (!ACTIVE.includes(this.status)) return;
    if (this.status === "Pending") this.status = "InProgress";
    const abandoned = this.abandonedReplacement();
    if (abandoned !== undefined) {
      this.end("Failed", `The launch of replacement instance ${abandoned} was abandoned.`);
      return;
    }
    const now = this.clock.now();
    const instances = this.group.instances();
    for (const instance of instances) {
      if (instance.lifecycleState === "InService" && !this.inServiceSince.has(instance.id)) {
        this.inServiceSince.set(instance.id, now);
      }
    }
    const present = new Set(instances.map((i) => i.id));
    // An original that left by other means (scale-in, health replacement) needs no update.
    for (const id of this.originals) {
      if (!present.has(id) && !this.batch.has(id)) this.updated.add(id);
    }
    const waitingFor = this.unsettled(instances, now);
    if (waitingFor !== undefined) {
      this.statusReason = waitingFor.reason;
      if (waitingFor.retryInMs !== undefined) {
        this.timer = this.clock.setTimer(() => this.step(), waitingFor.retryInMs);
      }
      return;
    }
    for (const id of this.batch) this.updated.add(id);
    this.batch.clear();
    if (this.status === "Cancelling") {
      this.end("Cancelled", "The instance refresh was cancelled.");
      return;
    }
    const remaining = this.originals.filter((id) => !this.updated.has(id));
    if (remaining.length === 0) {
      this.end("Successful", undefined);
      return;
    }
    this.startBatch(remaining);
  }

  /** A new instance whose launch a lifecycle action ABANDONed since the start: it never became healthy. */
  private abandonedReplacement(): string | undefined {
    return this.group
      .finishedLifecycleActions()
      .find(
        (action) =>
          action.transition === "autoscaling:EC2_INSTANCE_LAUNCHING" &&
          action.result === "ABANDON" &&
          action.at >= this.startTime &&
          !this.originals.includes(action.instanceId),
      )?.instanceId;
  }

  /** Why the next batch cannot start yet (and when to look again for a warmup), or undefined. */
  private unsettled(
    instances: readonly EmulatedInstance[],
    now: number,
  ): { reason: string; retryInMs?: number } | undefined {
    const leaving = [...this.batch].find((id) => instances.some((i) => i.id === id));
    if (leaving !== undefined) return { reason: `Waiting for ${leaving} to be replaced and terminated.` };
    const pending = instances.find((i) => i.lifecycleState !== "InService");
    if (pending !== undefined) {
      return {
        reason: `Waiting for remaining instances to be available. For example: ${pending.id} is ${pending.lifecycleState}.`,
      };
    }
    const warmupMs = this.preferences.instanceWarmupSeconds * 1000;
    let warming: { id: string; remainingMs: number } | undefined;
    for (const { id } of instances) {
      const since = this.inServiceSince.get(id);
      if (since === undefined || this.originals.includes(id)) continue;
      const remainingMs = since + warmupMs - now;
      if (remainingMs > 0 && (warming === undefined || remainingMs > warming.remainingMs)) {
        warming = { id, remainingMs };
      }
    }
    if (warming === undefined) return undefined;
    return {
      reason: `Waiting for instances to warm up before continuing. For example: ${warming.id} is warming up.`,
      retryInMs: warming.remainingMs,
    };
  }

  /** Sizes the batch by the healthy percentages and starts its replacements. */
  private startBatch(remaining: readonly string[]): void {
    const { minHealthyPercentage, maxHealthyPercentage } = this.preferences;
    const desired = this.group.desiredCapacity;
    const minHealthy = Math.ceil((desired * minHealthyPercentage) / 100);
    // Capacity above desired that the batch may launch first; at least one when allowed at all.
    const extra =
      maxHealthyPercentage > 100
        ? Math.max(1, Math.floor((desired * maxHealthyPercentage) / 100) - desired)
        : 0;
    const size = Math.max(1, extra + desired - minHealthy);
    const batch = remaining.slice(0, size);
    this.statusReason = `Replacing ${batch.join(", ")}.`;
    batch.forEach((id, index) => {
      this.batch.add(id);
      if (index < extra) this.group.replaceInstance(id);
      else this.group.terminateInstance(id, false);
    });
  }

  private end(status: "Successful" | "Failed" | "Cancelled", reason: string | undefined): void {
    this.stop();
    this.status = status;
    this.statusReason = reason;
    this.endTime = this.clock.now();
  }
}
