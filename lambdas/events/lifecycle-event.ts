// Parses the EventBridge events Auto Scaling sends for lifecycle hooks, and decides whether this
// control plane acts on one: only this group's hooks, and only moves into (or out of) the group
// itself — warm-pool moves are left alone.
import { EtcdAsgError } from "../errors";
import * as z from "../schema";

export class InvalidEventError extends EtcdAsgError {
  override readonly name = "InvalidEventError";
}

export const LAUNCH_DETAIL_TYPE = "EC2 Instance-launch Lifecycle Action";
export const TERMINATE_DETAIL_TYPE = "EC2 Instance-terminate Lifecycle Action";

const TRANSITIONS = {
  launch: { detailType: LAUNCH_DETAIL_TYPE, transition: "autoscaling:EC2_INSTANCE_LAUNCHING" },
  terminate: { detailType: TERMINATE_DETAIL_TYPE, transition: "autoscaling:EC2_INSTANCE_TERMINATING" },
} as const;

export type HookKind = keyof typeof TRANSITIONS;

const bounded = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));
const place = () => z.optional(z.enum(["EC2", "AutoScalingGroup", "WarmPool"]));

const lifecycleEventSchema = z.object({
  "detail-type": z.enum([LAUNCH_DETAIL_TYPE, TERMINATE_DETAIL_TYPE]),
  source: z.literal("aws.autoscaling"),
  detail: z.object({
    LifecycleActionToken: z
      .string()
      .check(z.regex(/^[0-9a-fA-F-]{36}$/, "a lifecycle action token is a UUID")),
    AutoScalingGroupName: bounded(255),
    LifecycleHookName: bounded(255),
    EC2InstanceId: z
      .string()
      .check(z.regex(/^i-[0-9a-f]{8,17}$/, "an EC2 instance ID looks like i-0123456789abcdef0")),
    LifecycleTransition: z.enum([TRANSITIONS.launch.transition, TRANSITIONS.terminate.transition]),
    NotificationMetadata: z.optional(z.string().check(z.maxLength(1023))),
    Origin: place(),
    Destination: place(),
  }),
});

export interface LifecycleAction {
  readonly kind: HookKind;
  readonly token: string;
  readonly instanceId: string;
  readonly hookName: string;
}

export type ParsedLifecycleEvent =
  | { readonly act: true; readonly action: LifecycleAction }
  | { readonly act: false; readonly action: LifecycleAction; readonly reason: string };

export interface ExpectedHook {
  readonly kind: HookKind;
  readonly asgName: string;
  readonly hookName: string;
}

/** Throws InvalidEventError naming the first field that is wrong; never returns a foreign action. */
export function parseLifecycleEvent(input: unknown, expected: ExpectedHook): ParsedLifecycleEvent {
  const parsed = lifecycleEventSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "event";
    throw new InvalidEventError(`malformed lifecycle event: ${where}: ${issue?.message ?? "invalid"}`);
  }
  const event = parsed.data;
  const { detailType, transition } = TRANSITIONS[expected.kind];
  const d = event.detail;
  if (event["detail-type"] !== detailType || d.LifecycleTransition !== transition) {
    throw new InvalidEventError(
      `expected a ${detailType} (${transition}); received ${event["detail-type"]} (${d.LifecycleTransition})`,
    );
  }
  if (d.AutoScalingGroupName !== expected.asgName) {
    throw new InvalidEventError(
      `event is for Auto Scaling group ${JSON.stringify(d.AutoScalingGroupName)}, not ${JSON.stringify(expected.asgName)}`,
    );
  }
  if (d.LifecycleHookName !== expected.hookName) {
    throw new InvalidEventError(
      `event is for lifecycle hook ${JSON.stringify(d.LifecycleHookName)}, not ${JSON.stringify(expected.hookName)}`,
    );
  }
  const action = {
    kind: expected.kind,
    token: d.LifecycleActionToken,
    instanceId: d.EC2InstanceId,
    hookName: d.LifecycleHookName,
  };
  // Launch: act when the instance enters the group (not when it is parked in the warm pool).
  // Terminate: act when it leaves the group (not when a warm-pool instance is discarded).
  if (expected.kind === "launch" && d.Destination !== undefined && d.Destination !== "AutoScalingGroup") {
    return {
      act: false,
      action,
      reason: `warm-pool launch (destination ${d.Destination}); etcd is not involved`,
    };
  }
  if (expected.kind === "terminate" && d.Origin !== undefined && d.Origin !== "AutoScalingGroup") {
    return { act: false, action, reason: `warm-pool termination (origin ${d.Origin}); etcd is not involved` };
  }
  return { act: true, action };
}
