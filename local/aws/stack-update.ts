// What CloudFormation does to an Auto Scaling group when a stack update changes the launch template
// version the group names — a prototype for the simulator's redeploy, kept to the emulator's side:
// - no update policy (the stack today): the group takes the new version; new launches use it, the
//   running instances stay as they are;
// - the AutoScalingInstanceRefresh update policy (CDK's autoscaling.UpdatePolicy.instanceRefresh):
//   CloudFormation starts an instance refresh whose desired configuration is the new version (Rolling;
//   its defaults MinHealthyPercentage 100, MaxHealthyPercentage 110, SkipMatching true) and the stack
//   update waits for it. If the refresh fails, the stack rolls back, and CloudFormation starts another
//   refresh back to the previous version under the update policy of the template it rolls back to;
//   if that one fails too, the stack ends UPDATE_ROLLBACK_FAILED. CloudFormation's only bound on
//   either direction is its 36-hour resource timeout; `boundMs` stands for the deploy's own bound —
//   an alarm of the policy's AlarmSpecification that goes off when the roll makes no progress — and
//   fails the refresh when it passes.
// The AutoScalingRollingUpdate policy (cfn-signal, suspended processes, its own batches) is not
// modelled: etcd-asg's recommendation is the instance refresh policy (docs/simulator.md).
import { HEALTH_CHECK_GRACE_PERIOD_SECONDS } from "./auto-scaling-api";
import type { EmulatedAutoScalingGroup } from "./auto-scaling-group";
import { type Clock, realClock } from "./clock";
import type { InstanceRefreshView } from "./instance-refresh";
import type { LaunchTemplateSpecification } from "./types";

export class InvalidUpdatePolicyError extends Error {
  override readonly name = "InvalidUpdatePolicyError";
}

/** UpdatePolicy.AutoScalingInstanceRefresh with CloudFormation's defaults filled in. */
export interface InstanceRefreshPolicy {
  readonly minHealthyPercentage: number;
  readonly maxHealthyPercentage: number;
  /** Undefined: the group's DefaultInstanceWarmup, else its health check grace period. */
  readonly instanceWarmupSeconds: number | undefined;
  readonly skipMatching: boolean;
  readonly checkpointPercentages: readonly number[] | undefined;
  readonly checkpointDelaySeconds: number | undefined;
}

/** Reads the policy from the group's UpdatePolicy attribute as written; undefined when it has none. */
export function readInstanceRefreshPolicy(
  updatePolicy: Readonly<Record<string, unknown>> | undefined,
): InstanceRefreshPolicy | undefined {
  const policy = updatePolicy?.AutoScalingInstanceRefresh as Record<string, unknown> | undefined;
  if (policy === undefined) return undefined;
  if (updatePolicy?.AutoScalingRollingUpdate !== undefined) {
    throw new InvalidUpdatePolicyError(
      "UpdatePolicy: AutoScalingInstanceRefresh and AutoScalingRollingUpdate exclude each other (CloudFormation fails the update)",
    );
  }
  if (policy.Strategy !== "Rolling") {
    throw new InvalidUpdatePolicyError(
      `UpdatePolicy.AutoScalingInstanceRefresh.Strategy ${JSON.stringify(policy.Strategy)} is not emulated: use Rolling`,
    );
  }
  const preferences = (policy.Preferences ?? {}) as Record<string, unknown>;
  const checkpoints = preferences.CheckpointPercentages as unknown[] | undefined;
  return {
    minHealthyPercentage: numberOf(preferences, "MinHealthyPercentage") ?? 100,
    maxHealthyPercentage: numberOf(preferences, "MaxHealthyPercentage") ?? 110,
    instanceWarmupSeconds: numberOf(preferences, "InstanceWarmup"),
    // Templates may write booleans as text.
    skipMatching: String(preferences.SkipMatching ?? true) === "true",
    checkpointPercentages: checkpoints?.map((p, i) => toNumber(p, `CheckpointPercentages[${i}]`)),
    checkpointDelaySeconds: numberOf(preferences, "CheckpointDelay"),
  };
}

export type StackUpdateStatus = "UPDATE_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE" | "UPDATE_ROLLBACK_FAILED";

export interface LaunchTemplateChange {
  readonly group: EmulatedAutoScalingGroup;
  /** The version the updated template names (recorded with the emulator's launch templates). */
  readonly launchTemplate: LaunchTemplateSpecification;
  /** The updated template's policy. */
  readonly policy: InstanceRefreshPolicy | undefined;
  /** The policy of the template a rollback returns to (CloudFormation reads that one). @default policy */
  readonly rollbackPolicy?: InstanceRefreshPolicy | undefined;
  /** How long each direction may take before the refresh is failed. @default no bound */
  readonly boundMs?: number;
  /** @default real time */
  readonly clock?: Clock;
}

export interface GroupUpdateResult {
  readonly status: StackUpdateStatus;
  /** Why it did not complete, when it did not. */
  readonly reason: string | undefined;
  /** The refreshes it ran, forward first. */
  readonly refreshes: readonly InstanceRefreshView[];
}

/** Applies the group's part of a stack update and resolves once CloudFormation would have moved on. */
export async function updateLaunchTemplate(change: LaunchTemplateChange): Promise<GroupUpdateResult> {
  const { group, launchTemplate: next, policy } = change;
  const previous = group.launchTemplate;
  if (previous !== undefined && previous.id === next.id && previous.version === next.version) {
    // A change that does not touch the nodes (a function, an alarm) leaves the version alone.
    return { status: "UPDATE_COMPLETE", reason: undefined, refreshes: [] };
  }
  if (policy === undefined || previous === undefined) {
    group.setLaunchTemplate(next);
    return { status: "UPDATE_COMPLETE", reason: undefined, refreshes: [] };
  }
  const forward = await refresh(change, next, policy);
  if (forward.view?.status === "Successful") {
    return { status: "UPDATE_COMPLETE", reason: undefined, refreshes: [forward.view] };
  }
  const reason = forward.view?.statusReason ?? forward.error ?? "the instance refresh did not succeed";
  const rollbackPolicy = "rollbackPolicy" in change ? change.rollbackPolicy : policy;
  const done = forward.view === undefined ? [] : [forward.view];
  if (rollbackPolicy === undefined) {
    // Rolled back to a template without the policy: the group names the old version again, and the
    // instances already replaced stay on the new one.
    group.setLaunchTemplate(previous);
    return { status: "UPDATE_ROLLBACK_COMPLETE", reason, refreshes: done };
  }
  if (forward.view === undefined) {
    // The refresh never started (another one was under way): nothing to undo.
    return { status: "UPDATE_ROLLBACK_COMPLETE", reason, refreshes: done };
  }
  const back = await refresh(change, previous, rollbackPolicy);
  const refreshes = back.view === undefined ? done : [...done, back.view];
  if (back.view?.status === "Successful") return { status: "UPDATE_ROLLBACK_COMPLETE", reason, refreshes };
  return {
    status: "UPDATE_ROLLBACK_FAILED",
    reason: `${reason}; the rollback failed too: ${back.view?.statusReason ?? back.error}`,
    refreshes,
  };
}

/** One refresh to `target`, failed by an alarm if it outlasts the bound. */
async function refresh(
  change: LaunchTemplateChange,
  target: LaunchTemplateSpecification,
  policy: InstanceRefreshPolicy,
): Promise<{ view?: InstanceRefreshView; error?: string }> {
  const { group } = change;
  const clock = change.clock ?? realClock;
  let id: string;
  try {
    id = group.instanceRefreshes.start({
      desiredConfiguration: target,
      preferences: {
        minHealthyPercentage: policy.minHealthyPercentage,
        maxHealthyPercentage: policy.maxHealthyPercentage,
        instanceWarmupSeconds:
          policy.instanceWarmupSeconds ??
          group.config.defaultInstanceWarmupSeconds ??
          HEALTH_CHECK_GRACE_PERIOD_SECONDS,
        skipMatching: policy.skipMatching,
        checkpointPercentages: policy.checkpointPercentages,
        checkpointDelaySeconds: policy.checkpointDelaySeconds,
      },
    });
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
  const bound =
    change.boundMs === undefined
      ? undefined
      : clock.setTimer(() => {
          const active = group.instanceRefreshes.describe([id])[0];
          if (active !== undefined && active.endTime === undefined) {
            group.instanceRefreshes.alarm(
              `the deploy's bound of ${change.boundMs} ms passed before the roll converged`,
            );
          }
        }, change.boundMs);
  try {
    return { view: await group.instanceRefreshes.whenEnded(id) };
  } finally {
    if (bound !== undefined) clock.clearTimer(bound);
  }
}

function numberOf(preferences: Record<string, unknown>, name: string): number | undefined {
  const value = preferences[name];
  return value === undefined ? undefined : toNumber(value, name);
}

function toNumber(value: unknown, name: string): number {
  const number = typeof value === "number" ? value : typeof value === "string" ? Number(value) : Number.NaN;
  if (!Number.isInteger(number)) {
    throw new InvalidUpdatePolicyError(
      `UpdatePolicy.AutoScalingInstanceRefresh.Preferences.${name} must be an integer, got ${JSON.stringify(value)}`,
    );
  }
  return number;
}
