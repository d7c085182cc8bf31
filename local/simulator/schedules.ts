// How fast the simulator runs the stack's scheduled rules: the reconciler's schedule at the
// reconcileIntervalMs override, every other scheduled rule (the snapshot and defragmentation
// schedules) sped up by as much,
// so a rule with 30 times the reconciler's period ticks 30 times as rarely.
import type { StackModel } from "../stack/model";
import { type RuleModel, ratePeriodMs } from "../stack/rules";

export interface ScheduledRule {
  readonly rule: RuleModel;
  /** Scenario time between two ticks. */
  readonly periodMs: number;
}

/** The reconciler's schedule: the rule that sends the function tagged `reconciler` the scheduled
 * event itself (the defragmentation schedule sends it a constant input instead). */
function reconcileRule(stack: StackModel): RuleModel | undefined {
  const reconciler = stack.functions.find((fn) => fn.role === "reconciler")?.arn;
  return scheduledRules(stack).find((rule) =>
    rule.targets.some((target) => target.arn === reconciler && target.input === undefined),
  );
}

function scheduledRules(stack: StackModel): RuleModel[] {
  return stack.rules.filter((rule) => rule.enabled && rule.scheduleExpression !== undefined);
}

/** How many times faster than AWS the schedules run (1 when they run on demand only). */
export function scheduleSpeedup(stack: StackModel, reconcileIntervalMs: number): number {
  const rule = reconcileRule(stack);
  return rule?.scheduleExpression === undefined || reconcileIntervalMs <= 0
    ? 1
    : ratePeriodMs(rule.scheduleExpression) / reconcileIntervalMs;
}

/** Each enabled scheduled rule with its period; none when the schedules run on demand only. The
 * snapshot schedule ticks at `snapshotIntervalMs` when the interval is overridden. */
export function scheduledRulePeriods(
  stack: StackModel,
  reconcileIntervalMs: number,
  snapshotIntervalMs?: number,
): ScheduledRule[] {
  if (reconcileIntervalMs <= 0 || reconcileRule(stack) === undefined) return [];
  const speedup = scheduleSpeedup(stack, reconcileIntervalMs);
  const snapshot = stack.functions.find((fn) => fn.role === "snapshot")?.arn;
  return scheduledRules(stack).map((rule) => ({
    rule,
    periodMs:
      snapshotIntervalMs !== undefined && rule.targets.some((target) => target.arn === snapshot)
        ? snapshotIntervalMs
        : ratePeriodMs(rule.scheduleExpression ?? "") / speedup,
  }));
}
