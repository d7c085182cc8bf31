// The reconciler's repairs on a real 3-member etcd cluster formed through the control plane: drift
// reported as the MembershipDrift metric, a launch event that never arrived, and a launch completion
// that was lost after the node became a member. (Lost terminate events, reused IPs and learners that
// never start are in control-plane-membership.test.ts.)
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadSnapshot } from "../../lambdas/app/load-snapshot";
import { driftOf, reconcile } from "../../lambdas/app/reconcile";
import { METRIC_NAMESPACE, METRICS } from "../../lambdas/app/signals";
import {
  ControlPlaneBed,
  type EmittedMetric,
  emittedMetrics,
  LAUNCH_HOOK,
  settingsOf,
  TERMINATE_HOOK,
} from "../helpers/control-plane";
import {
  bootNode,
  eventOf,
  eventually,
  formedCluster,
  killMember,
  memberNames,
  newInstance,
  publishedConfig,
} from "../helpers/control-plane-flows";

/** Terminates `victim` through its terminate event (member removed) and returns its replacement. */
async function replaceThroughEvents(bed: ControlPlaneBed, ids: readonly string[], victim: string) {
  bed.group.terminateInstance(victim, false);
  assert.equal((await bed.deliver("terminate", await eventOf(bed, "terminate", victim))).status, "completed");
  await killMember(bed, ids, victim);
  return newInstance(bed, ids);
}

function driftMetric(bed: ControlPlaneBed, value: number): EmittedMetric {
  return {
    namespace: METRIC_NAMESPACE,
    name: METRICS.drift,
    value,
    dimensions: { service: "etcd-asg", ClusterName: bed.runtime.config.clusterName },
  };
}

describe("control plane: reconciler", () => {
  test("reports a member with no live instance and an in-service instance that is not a member as drift, and none once both are repaired", async (t) => {
    const { bed, ids } = await formedCluster(t);
    const gone = ids[2] as string;
    // Both events are lost and both actions end without the control plane: the victim's terminate
    // action, and the launch action of the instance that replaces it.
    bed.group.terminateInstance(gone, false);
    await killMember(bed, ids, gone);
    bed.group.completeLifecycleAction({ instanceId: gone, hookName: TERMINATE_HOOK, result: "CONTINUE" });
    const outside = await newInstance(bed, ids);
    bed.group.completeLifecycleAction({ instanceId: outside, hookName: LAUNCH_HOOK, result: "CONTINUE" });
    assert.deepEqual(bed.instanceIds("InService").sort(), [...ids.slice(0, 2), outside].sort());
    const goneMember = (await bed.members()).find((m) => m.name === gone);
    assert.ok(goneMember, "the gone instance is still a member");

    const { snapshot } = await loadSnapshot(bed.invocation(), { event: "reconcile" });
    assert.deepEqual(driftOf(snapshot), [
      `member ${goneMember.id} (${gone}) has no live instance`,
      `instance ${outside} is in service but not a member`,
    ]);

    // The pass removes the orphaned member; the outside instance is its node's to join.
    const [repairing, emitted] = await emittedMetrics(() => reconcile(bed.invocation()));
    assert.equal(repairing.drift, 1);
    assert.deepEqual(
      emitted.filter((m) => m.name === METRICS.drift),
      [driftMetric(bed, 1)],
    );
    assert.deepEqual(await memberNames(bed), ids.slice(0, 2).sort());

    const config = await bootNode(bed, outside);
    assert.equal(config.ETCD_ASG_DECISION, "learner");
    const [settled, emittedAfter] = await emittedMetrics(() => reconcile(bed.invocation()));
    assert.equal(settled.drift, 0);
    assert.deepEqual(
      emittedAfter.filter((m) => m.name === METRICS.drift),
      [driftMetric(bed, 0)],
    );
    assert.deepEqual(await memberNames(bed), [...ids.slice(0, 2), outside].sort());
  });

  test("lost launch events before the cluster exists: one pass registers every instance and fixes the cluster on one reading of the group", async (t) => {
    const bed = await ControlPlaneBed.start(t, { clusterSize: 3, capacity: 3 });
    const ids = await eventually("3 instances waiting on their launch", () => {
      const waiting = bed.instanceIds("Pending:Wait");
      return waiting.length === 3 ? waiting : undefined;
    });
    bed.emulator.resetCallCounts();
    const report = await reconcile(bed.invocation());
    assert.equal(report.launches, 3);
    // The pass's lifecycle steps move nothing in the group: none reads it again.
    assert.equal(bed.emulator.callCounts().DescribeAutoScalingGroups, 1);
    // The last one's decision fixes the cluster; the first two learn it on their next request.
    const { nodes, cluster } = await bed.runtime.ledger.loadState();
    assert.deepEqual(nodes.map((n) => n.instanceId).sort(), [...ids].sort());
    assert.deepEqual(cluster?.initialMembers.map((m) => m.instanceId).sort(), [...ids].sort());
  });

  test("a pass that decides for a registered node what its record already says writes nothing", async (t) => {
    // Two instances of a cluster of 3: each node waits for a third, pass after pass.
    const bed = await ControlPlaneBed.start(t, { clusterSize: 3, capacity: 2 });
    await eventually("2 instances waiting on their launch", () =>
      bed.instanceIds("Pending:Wait").length === 2 ? true : undefined,
    );
    // The first node's reason changes once the second registers: its second decision is published.
    assert.equal((await reconcile(bed.invocation())).launches, 2);
    assert.equal((await reconcile(bed.invocation())).launches, 2);
    const before = await bed.runtime.ledger.loadState();
    const phaseWrites = t.mock.method(bed.runtime.ledger, "setNodePhase");
    assert.equal((await reconcile(bed.invocation())).launches, 2);
    assert.equal(phaseWrites.mock.callCount(), 0);
    assert.deepEqual(await bed.runtime.ledger.loadState(), before);
  });

  test("a lost launch event: the reconciler adds the node's learner once and keeps its launch action alive; the node joins and its launch completes with CONTINUE", async (t) => {
    const { bed, ids } = await formedCluster(t);
    const unseen = await replaceThroughEvents(bed, ids, ids[2] as string);
    await eventOf(bed, "launch", unseen); // captured, never delivered
    const peerUrl = `https://${bed.group.instances().find((i) => i.id === unseen)?.privateIp}:2380`;
    const learners = async () => (await bed.members()).filter((m) => m.isLearner).map((m) => m.peerUrls);
    const timeoutAt = () =>
      bed.group.activeLifecycleActions().find((a) => a.instanceId === unseen)?.timeoutAt;

    const first = await reconcile(bed.invocation());
    assert.equal(first.launches, 1);
    assert.equal((await bed.runtime.ledger.getNode(unseen))?.phase, "joining");
    assert.deepEqual(await learners(), [[peerUrl]]);

    const before = timeoutAt();
    const second = await reconcile(bed.invocation());
    assert.equal(second.launches, 0, "a joining node is not launched again");
    assert.deepEqual(await learners(), [[peerUrl]]);
    assert.ok((timeoutAt() ?? 0) > (before ?? Number.POSITIVE_INFINITY), "a heartbeat restarted its timeout");

    const config = await bootNode(bed, unseen);
    assert.equal(config.ETCD_ASG_DECISION, "learner");
    assert.deepEqual(await memberNames(bed), [...ids.slice(0, 2), unseen].sort());
    assert.deepEqual(bed.endedActions(unseen), [{ hookName: LAUNCH_HOOK, result: "CONTINUE", by: "api" }]);
  });

  test("a lost launch completion: the reconciler completes the launch action of a node that is already a member with CONTINUE", async (t) => {
    const { bed, ids } = await formedCluster(t);
    const late = await replaceThroughEvents(bed, ids, ids[2] as string);
    assert.equal((await bed.deliver("launch", await eventOf(bed, "launch", late))).status, "pending");
    await bed.startEtcd(late, settingsOf(await publishedConfig(bed, late)));
    await bed.waitEtcdHealthy(late);
    // The node's "ready" promotes it, then Auto Scaling fails the completion; the node asks no more.
    bed.emulator.injectFaults((call) =>
      call.action === "CompleteLifecycleAction" ? "server-error" : undefined,
    );
    try {
      const ready = await eventually("ready past the promotion", async () => {
        const answer = await bed.nodeApi("ready", late);
        return answer.statusCode === 202 ? undefined : answer;
      });
      assert.equal(ready.statusCode, 503, ready.body);
    } finally {
      bed.emulator.injectFaults(undefined);
    }
    assert.equal((await bed.runtime.ledger.getNode(late))?.phase, "member");
    assert.ok(bed.instanceIds("Pending:Wait").includes(late));

    const report = await reconcile(bed.invocation());
    assert.deepEqual(
      { completions: report.completions, launches: report.launches },
      { completions: 1, launches: 0 },
    );
    assert.deepEqual(bed.endedActions(late), [{ hookName: LAUNCH_HOOK, result: "CONTINUE", by: "api" }]);
    assert.ok(bed.instanceIds("InService").includes(late));
    assert.deepEqual(await memberNames(bed), [...ids.slice(0, 2), late].sort());
  });
});
