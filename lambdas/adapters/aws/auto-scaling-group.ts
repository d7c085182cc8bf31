// The Auto Scaling group as the control plane sees it: its instances (lifecycle state from Auto
// Scaling, private IP and launch time from EC2), its lifecycle actions (complete, heartbeat), and
// the health of an instance that can no longer serve (set Unhealthy, so the group replaces it).
// "No active Lifecycle Action found" means the action is already over, which is success for an
// idempotent handler. SDK clients are built once per container by the caller and passed in.
//
// An instance's primary private IP and launch time never change while it lives, so the adapter
// remembers them (per container, for the group's current instances): EC2 is asked only about
// instances it has not seen with an IP yet, and a warm function reads the group with one call. One
// that knows none yet (a cold start) asks EC2 about the group's instances by the group's tag while
// it asks Auto Scaling for the group, not after; an instance that answer lacks is asked by ID.
import {
  type AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  RecordLifecycleActionHeartbeatCommand,
  SetInstanceHealthCommand,
} from "@aws-sdk/client-auto-scaling";
import type { EC2Client } from "@aws-sdk/client-ec2";
import type { Instance, LaunchTemplateRef } from "../../domain/snapshot";
import { describeGroupInstanceDetails, describeInstanceDetails, type Ec2InstanceDetails } from "./ec2";
import { AutoScalingGroupNotFoundError, InstanceNotYetVisibleError } from "./errors";
import { isNoActiveLifecycleAction, translateAwsError } from "./translate";

export interface AwsClients {
  readonly autoScaling: AutoScalingClient;
  readonly ec2: EC2Client;
}

/** Names one lifecycle action: by token, or by instance ID when the token is unknown (lost event). */
export interface LifecycleActionTarget {
  readonly hookName: string;
  readonly instanceId: string;
  readonly token?: string | undefined;
}

export type LifecycleActionResult = "CONTINUE" | "ABANDON";

export class AutoScalingGroupAdapter {
  /** EC2 details of the group's instances that already have their private IP, by instance ID. */
  private readonly known = new Map<string, Ec2InstanceDetails>();

  constructor(
    private readonly clients: AwsClients,
    readonly groupName: string,
  ) {}

  /** The group's instances, oldest launch first. Throws InstanceNotYetVisibleError (retryable) when
   * EC2 does not show one of them yet. */
  async instances(): Promise<Instance[]> {
    // Its failure only means asking by ID, as a warm container does.
    const byTag =
      this.known.size === 0
        ? describeGroupInstanceDetails(this.clients.ec2, this.groupName).catch(() => undefined)
        : undefined;
    const answer = await this.clients.autoScaling
      .send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [this.groupName] }))
      .catch((error: unknown) => {
        throw translateAwsError(error, "DescribeAutoScalingGroups");
      });
    const group = answer.AutoScalingGroups?.find(
      (candidate) => candidate.AutoScalingGroupName === this.groupName,
    );
    if (!group) throw new AutoScalingGroupNotFoundError(this.groupName);
    const members = (group.Instances ?? []).flatMap((instance) =>
      instance.InstanceId
        ? [
            {
              id: instance.InstanceId,
              lifecycleState: instance.LifecycleState ?? "",
              launchTemplate: launchTemplateOf(instance.LaunchTemplate),
              healthStatus: healthStatusOf(instance.HealthStatus),
            },
          ]
        : [],
    );
    const details = await this.details(
      members.map((member) => member.id),
      await byTag,
    );
    const invisible = members.filter((member) => !details.has(member.id)).map((member) => member.id);
    if (invisible.length > 0) throw new InstanceNotYetVisibleError(invisible);
    return members
      .map((member) => {
        const ec2 = details.get(member.id);
        return { ...member, privateIp: ec2?.privateIp, launchTime: ec2?.launchTime ?? 0 };
      })
      .sort((a, b) => a.launchTime - b.launchTime);
  }

  /** Details of these instances: remembered ones as they were, then those `read` already holds
   * (the group's, by its tag), the others from EC2. */
  private async details(
    instanceIds: readonly string[],
    read?: Map<string, Ec2InstanceDetails>,
  ): Promise<Map<string, Ec2InstanceDetails>> {
    for (const id of this.known.keys()) if (!instanceIds.includes(id)) this.known.delete(id);
    const prefetched = [...(read ?? [])].filter(([id]) => instanceIds.includes(id));
    const visible = new Set([...this.known.keys(), ...prefetched.map(([id]) => id)]);
    const unknown = instanceIds.filter((id) => !visible.has(id));
    const fetched =
      unknown.length === 0 ? new Map() : await describeInstanceDetails(this.clients.ec2, unknown);
    const found = [...prefetched, ...fetched];
    for (const [id, details] of found) if (details.privateIp !== undefined) this.known.set(id, details);
    return new Map([...this.known, ...found]);
  }

  /** "already-done" when Auto Scaling has no active action for the target any more. */
  async complete(
    target: LifecycleActionTarget,
    result: LifecycleActionResult,
  ): Promise<"completed" | "already-done"> {
    try {
      await this.clients.autoScaling.send(
        new CompleteLifecycleActionCommand({ ...this.actionParams(target), LifecycleActionResult: result }),
      );
      return "completed";
    } catch (error) {
      if (isNoActiveLifecycleAction(error)) return "already-done";
      throw translateAwsError(error, "CompleteLifecycleAction");
    }
  }

  /** Restarts the action's heartbeat timeout; "not-active" when the action is already over. */
  async heartbeat(target: LifecycleActionTarget): Promise<"recorded" | "not-active"> {
    try {
      await this.clients.autoScaling.send(
        new RecordLifecycleActionHeartbeatCommand(this.actionParams(target)),
      );
      return "recorded";
    } catch (error) {
      if (isNoActiveLifecycleAction(error)) return "not-active";
      throw translateAwsError(error, "RecordLifecycleActionHeartbeat");
    }
  }

  /** Marks the instance Unhealthy at once (no grace period): the group terminates and replaces it. */
  async markUnhealthy(instanceId: string): Promise<void> {
    await this.clients.autoScaling
      .send(
        new SetInstanceHealthCommand({
          InstanceId: instanceId,
          HealthStatus: "Unhealthy",
          ShouldRespectGracePeriod: false,
        }),
      )
      .catch((error: unknown) => {
        throw translateAwsError(error, "SetInstanceHealth");
      });
  }

  private actionParams(target: LifecycleActionTarget) {
    return {
      AutoScalingGroupName: this.groupName,
      LifecycleHookName: target.hookName,
      ...(target.token === undefined
        ? { InstanceId: target.instanceId }
        : { LifecycleActionToken: target.token }),
    };
  }
}

/** The launch template version an instance was launched from, as DescribeAutoScalingGroups names it. */
function launchTemplateOf(
  spec: { LaunchTemplateId?: string | undefined; Version?: string | undefined } | undefined,
): LaunchTemplateRef | undefined {
  if (spec?.LaunchTemplateId === undefined || spec.Version === undefined) return undefined;
  return { id: spec.LaunchTemplateId, version: spec.Version };
}

/** DescribeAutoScalingGroups spells it "Healthy" / "Unhealthy" (DescribeAutoScalingInstances in capitals). */
function healthStatusOf(value: string | undefined): Instance["healthStatus"] {
  const status = value?.toLowerCase();
  return status === "healthy" ? "Healthy" : status === "unhealthy" ? "Unhealthy" : undefined;
}
