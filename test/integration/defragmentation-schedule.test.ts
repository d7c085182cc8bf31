// The simulator runs the scheduled defragmentation from the synthesized template: it reads the rule,
// paces it beside the reconcile schedule (which stays the one the override sets, a minute becoming
// the reconcile period), and delivers the rule's constant input in place of the Scheduled Event to
// the reconciler, through the function's permission for that rule. The reconciler's code is a small
// handler that reports the event it got, run by the simulator's Lambda runtime on Lambda's Node.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { upkeepTrigger } from "../../lambdas/events/reconcile-event";
import { EventDelivery } from "../../local/simulator/event-delivery";
import { LambdaFunction } from "../../local/simulator/lambda-function";
import { lambdaNodeBinary } from "../../local/simulator/lambda-runtime";
import { scheduledRulePeriods, scheduleSpeedup } from "../../local/simulator/schedules";
import { readStack } from "../../local/stack/model";
import { loadTemplate } from "../../local/stack/template";
import { makeFixture, synthesize } from "../cdk/synth-fixture";

const RECONCILE_PERIOD_MS = 2000;

test("the simulator runs the defragmentation schedule from the template and delivers its input", async (t) => {
  const fixture = makeFixture();
  t.after(() => fixture.remove());
  const { templatePath } = synthesize(fixture);
  const stack = readStack(loadTemplate(templatePath), {
    pseudo: {
      accountId: "123456789012",
      region: "us-east-1",
      partition: "aws",
      stackName: "EtcdAsg",
      stackId: "arn:aws:cloudformation:us-east-1:123456789012:stack/EtcdAsg/1",
      urlSuffix: "amazonaws.com",
      availabilityZones: ["us-east-1a", "us-east-1b", "us-east-1c"],
    },
    seed: "defrag",
    assetsDir: dirname(templatePath),
    // What the running simulator serves the node API's function URL at.
    live: (_logicalId, attribute) => (attribute === "FunctionUrl" ? "http://127.0.0.1:9/" : undefined),
  });

  assert.equal(scheduleSpeedup(stack, RECONCILE_PERIOD_MS), 30, "a minute of the stack is 2 s");
  const periods = scheduledRulePeriods(stack, RECONCILE_PERIOD_MS);
  const periodOf = (fragment: string) => {
    const found = periods.find(({ rule }) => rule.logicalId.includes(fragment));
    assert.ok(found, `${fragment} among ${periods.map(({ rule }) => rule.logicalId).join(", ")}`);
    return found;
  };
  assert.equal(periodOf("ReconcileSchedule").periodMs, RECONCILE_PERIOD_MS);
  const defragmentation = periodOf("DefragmentationSchedule");
  assert.equal(defragmentation.periodMs, 24 * 60 * RECONCILE_PERIOD_MS, "daily: 1440 reconcile periods");

  const reconcilerModel = stack.functions.find((fn) => fn.role === "reconciler");
  assert.ok(reconcilerModel);
  const code = mkdtempSync(join(tmpdir(), "etcd-asg-defrag-schedule-"));
  t.after(() => rmSync(code, { recursive: true, force: true }));
  mkdirSync(join(code, "lib"));
  writeFileSync(join(code, "lib/index.js"), "exports.handler = async (event) => event;\n");
  const received: unknown[] = [];
  // Configured as the template configures the reconciler; only its code is the small handler.
  const { arn, handler, runtime, timeoutSeconds, memoryMb, reservedConcurrency } = reconcilerModel;
  const reconciler = new LambdaFunction({
    ...{ name: "reconciler", arn, handler, memoryMb, codeDir: code, logFile: join(code, "log") },
    node: lambdaNodeBinary(runtime),
    env: { PATH: "/usr/bin:/bin" },
    timeoutMs: timeoutSeconds * 1000,
    serial: reservedConcurrency === 1,
    onInvocation: (record) => received.push(record.event),
  });
  t.after(() => reconciler.stop());
  const delivery = new EventDelivery({
    rules: stack.rules,
    functions: [{ model: reconcilerModel, fn: reconciler }],
    account: stack.account,
    region: stack.region,
    retryDelaysMs: [0],
    ageScale: 30,
  });

  await delivery.schedule(defragmentation.rule);
  await delivery.schedule(periodOf("ReconcileSchedule").rule);
  assert.equal(received.length, 2, JSON.stringify(received));
  assert.deepEqual(received[0], { "etcd-asg": "scheduled-defragmentation" });
  assert.equal(upkeepTrigger(received[0]), "schedule");
  assert.equal((received[1] as { "detail-type"?: string })["detail-type"], "Scheduled Event");
  assert.equal(upkeepTrigger(received[1]), "reconcile");
  assert.deepEqual(delivery.records, [], "a schedule's events are not lifecycle records");
});
