// Fuzzing the control plane's inputs on a real 3-member etcd cluster formed through it: 1,000
// generated malformed and hostile events across the launch hook, the terminate hook and the node
// API each get a clear refusal logged once, and change neither the ledger, nor etcd's member list,
// nor the group. Below it, one regression test per defect the fuzzer found.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, type TestContext, test } from "node:test";
import { UNKNOWN_INSTANCE } from "../../chaos/fuzz/fuzz-input";
import { captureLogs } from "../../chaos/fuzz/log-capture";
import { nodeRoleSession } from "../../chaos/fuzz/node-api-inputs";
import { formatReport } from "../../chaos/fuzz/report";
import { fuzzTarget, runFuzz } from "../../chaos/fuzz/runner";
import { handleLifecycleEvent } from "../../lambdas/app/lifecycle-events";
import { handleNodeApi } from "../../lambdas/node-api/respond";
import { ControlPlaneBed, TERMINATE_HOOK } from "../helpers/control-plane";
import { formCluster } from "../helpers/control-plane-flows";

const SEED = 20_261_121;
const INPUTS = 1000;

async function formed(t: TestContext) {
  const bed = await ControlPlaneBed.start(t, { clusterSize: 3 });
  const ids = await formCluster(bed);
  assert.equal(ids.length, 3);
  return { bed, ids };
}

describe("control plane: fuzzed inputs", () => {
  test("1,000 fuzzed malformed events across the hooks and the node API get clear refusals and change neither the ledger nor etcd", async (t) => {
    const { bed } = await formed(t);
    const started = Date.now();
    const report = await runFuzz(bed, { inputs: INPUTS, seed: SEED });
    const summary = formatReport(report, { fuzzMs: Date.now() - started, inputs: INPUTS });
    for (const line of summary.split("\n")) t.diagnostic(line);
    assert.equal(report.tried, INPUTS);
    const handlers = new Set([...report.byCategory.keys()].map((c) => c.split(":")[0]));
    assert.deepEqual([...handlers].sort(), ["launch", "node-api", "terminate"]);
    assert.ok(report.byCategory.size >= 30, `categories: ${report.byCategory.size}`);
    assert.deepEqual(report.unintendedChanges, [], summary);
    assert.deepEqual(report.findings, [], summary);
  });

  test("a terminate event for an instance that is not in the group is refused and records nothing", async (t) => {
    const { bed } = await formed(t);
    const token = "0daca66b-f0fb-4bf0-8000-0011bd08339a";
    const logs = captureLogs(bed.runtime.logger);
    const handled = await handleLifecycleEvent(
      { ...bed.runtime, logger: logs.logger },
      "terminate",
      {
        "detail-type": "EC2 Instance-terminate Lifecycle Action",
        source: "aws.autoscaling",
        detail: {
          LifecycleActionToken: token,
          AutoScalingGroupName: bed.runtime.config.asgName,
          LifecycleHookName: TERMINATE_HOOK,
          EC2InstanceId: "i-0123456789abcdef0",
          LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
        },
      },
      { awsRequestId: randomUUID() },
    );
    assert.equal(await bed.runtime.ledger.tokenOutcome(token), undefined, "token recorded");
    assert.ok(handled.status === "ignored" || handled.status === "rejected", JSON.stringify(handled));
    assert.match(handled.reason, UNKNOWN_INSTANCE);
    assert.equal(logs.lines.filter((l) => l.includes(handled.reason)).length, 1, logs.lines.join("\n"));
  });

  test("the node API refuses a node-role session of another account or partition", async (t) => {
    const { bed, ids } = await formed(t);
    const about = ids[0] as string;
    const target = fuzzTarget(bed);
    const own = nodeRoleSession(target, about);
    for (const userArn of [
      own.replace(`::${target.account}:`, "::999999999999:"),
      own.replace("arn:aws:", "arn:aws-cn:"),
    ]) {
      const answer = await handleNodeApi(
        bed.runtime,
        {
          version: "2.0",
          rawPath: `/v1/nodes/${about}/config`,
          queryStringParameters: { format: "env" },
          requestContext: { http: { method: "GET" }, authorizer: { iam: { userArn } } },
        },
        { awsRequestId: randomUUID() },
      );
      assert.equal(answer.statusCode, 403, `${userArn}: ${answer.statusCode} ${answer.body}`);
    }
  });
});
