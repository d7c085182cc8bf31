// The Auto Scaling group as the control plane sees it: its instances (lifecycle state from Auto
// Scaling, private IP and launch time from EC2) and its lifecycle actions (complete, heartbeat).
// "No active Lifecycle Action found" means the action is already over, which is success for an
// idempotent handler. SDK clients are built once per container by the caller and passed in.
import {
  type AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  RecordLifecycleActionHeartbeatCommand,
} from "@aws-sdk/client-auto-scaling";
import type { EC2Client } from "@aws-sdk/client-ec2";
import type { Instance } from "../../domain/snapshot";
import { describeInstanceDetails } from "./ec2";
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
  constructor(
    private readonly clients: AwsClients,
    readonly groupName: string,
  ) {}

  /** The group's instances, oldest launch first. Throws InstanceNotYetVisibleError (retryable) when
   * EC2 does not show one of them yet. */
  async instances(): Promise<Instance[]> {
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
      instance.InstanceId ? [{ id: instance.InstanceId, lifecycleState: instance.LifecycleState ?? "" }] : [],
    );
    const details = await describeInstanceDetails(
      this.clients.ec2,
      members.map((member) => member.id),
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
