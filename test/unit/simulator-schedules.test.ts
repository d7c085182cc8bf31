// How fast the simulator runs the stack's scheduled rules (local/simulator/schedules.ts): the
// reconcile schedule at the override, the snapshot schedule sped up by as much.
import assert from "node:assert/strict";
import { test } from "node:test";
import { scheduledRulePeriods, scheduleSpeedup } from "../../local/simulator/schedules";
import type { StackModel } from "../../local/stack/model";
import type { RuleModel } from "../../local/stack/rules";

const rule = (logicalId: string, scheduleExpression: string, target: string, enabled = true): RuleModel => ({
  logicalId,
  name: logicalId,
  arn: `arn:aws:events:us-east-1:123456789012:rule/${logicalId}`,
  enabled,
  eventPattern: undefined,
  scheduleExpression,
  targets: [
    {
      id: "t",
      arn: target,
      maximumRetryAttempts: 0,
      maximumEventAgeSeconds: 60,
      deadLetterArn: undefined,
      input: undefined,
    },
  ],
});

/** Only the parts the schedules read: the functions' tags and ARNs, and the rules. */
const stack = (rules: RuleModel[]) =>
  ({
    functions: [
      { role: "reconciler", arn: "arn:reconciler" },
      { role: "snapshot", arn: "arn:snapshot" },
    ],
    rules,
  }) as unknown as StackModel;

const RULES = [
  rule("SnapshotSchedule", "rate(30 minutes)", "arn:snapshot"),
  rule("ReconcileSchedule", "rate(1 minute)", "arn:reconciler"),
];

test("the reconcile schedule runs at the override and the snapshot schedule 30 times as rarely", () => {
  assert.equal(scheduleSpeedup(stack(RULES), 2000), 30);
  assert.deepEqual(
    scheduledRulePeriods(stack(RULES), 2000).map(({ rule, periodMs }) => [rule.logicalId, periodMs]),
    [
      ["SnapshotSchedule", 60_000],
      ["ReconcileSchedule", 2000],
    ],
  );
});

test("an overridden snapshot interval is the snapshot schedule's period", () => {
  assert.deepEqual(
    scheduledRulePeriods(stack(RULES), 2000, 15_000).map(({ rule, periodMs }) => [rule.logicalId, periodMs]),
    [
      ["SnapshotSchedule", 15_000],
      ["ReconcileSchedule", 2000],
    ],
  );
});

test("no schedule runs when the override asks for on demand only, or the reconciler has none", () => {
  assert.deepEqual(scheduledRulePeriods(stack(RULES), 0), []);
  assert.equal(scheduleSpeedup(stack(RULES), 0), 1);
  assert.deepEqual(scheduledRulePeriods(stack(RULES.slice(0, 1)), 2000), []);
});

test("a disabled rule does not run", () => {
  const rules = [...RULES.slice(1), rule("Off", "rate(5 minutes)", "arn:snapshot", false)];
  assert.deepEqual(
    scheduledRulePeriods(stack(rules), 1000).map(({ rule }) => rule.logicalId),
    ["ReconcileSchedule"],
  );
});

test("the reconcile schedule is the reconciler's rule without a constant input, whatever the rules' order", () => {
  const defragmentation = rule("DefragmentationSchedule", "rate(1 day)", "arn:reconciler");
  const withInput: RuleModel = {
    ...defragmentation,
    targets: defragmentation.targets.map((target) => ({
      ...target,
      input: '{"etcd-asg":"scheduled-defragmentation"}',
    })),
  };
  const rules = [withInput, ...RULES];
  assert.equal(scheduleSpeedup(stack(rules), 2000), 30);
  assert.deepEqual(
    scheduledRulePeriods(stack(rules), 2000).map(({ rule, periodMs }) => [rule.logicalId, periodMs]),
    [
      ["DefragmentationSchedule", 2_880_000],
      ["SnapshotSchedule", 60_000],
      ["ReconcileSchedule", 2000],
    ],
  );
});
