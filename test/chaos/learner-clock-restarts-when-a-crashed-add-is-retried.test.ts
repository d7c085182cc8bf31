// Regression test for a defect chaos found (seed 3049, `npm run chaos -- --runs 1 --seed 3049
// --size 5 --episodes 4`): a node API worker was killed after it recorded a node's join intent
// (phase `joining`, which starts the learner's ready clock) and before MemberAdd. The lock it held
// kept everyone out until its lease ran out (30 s); the retried join then added the learner and told
// the node, but the clock still counted from the crashed intent, so the reconciler removed the
// learner as "never started" moments after the node was told to start it. The node, already in
// service, was left outside etcd. A join now restarts the clock when it records its intent.
import assert from "node:assert/strict";
import { test } from "node:test";
import { reconcile } from "../../lambdas/app/reconcile";
import { LAUNCH_HOOK } from "../helpers/control-plane";
import {
  bootNode,
  eventOf,
  formedCluster,
  fourthWithRoom,
  memberNames,
} from "../helpers/control-plane-flows";

test("an add retried after a crashed one gives the node the whole learner timeout, counted from the retry", async (t) => {
  const { bed, ids } = await formedCluster(t, { LEARNER_READY_TIMEOUT_SECONDS: "2" });
  const late = await fourthWithRoom(bed, ids);

  // The crashed invocation: registered the node and recorded its join intent 5 s ago, then died.
  const ip = bed.group.instances().find((i) => i.id === late)?.privateIp;
  assert.ok(ip !== undefined);
  const crashedAt = Date.now() - 5_000;
  await bed.runtime.ledger.registerNode(late, ip, crashedAt);
  await bed.runtime.ledger.setNodePhase(late, { phase: "joining" }, crashedAt);
  assert.deepEqual(await memberNames(bed), ids.slice(1).sort(), "no learner was added before the crash");

  await bed.deliver("launch", await eventOf(bed, "launch", late));
  const learner = (await bed.members()).find((m) => m.isLearner);
  assert.ok(learner, "the retried join added the learner");
  await reconcile(bed.invocation());
  assert.ok(
    (await bed.members()).some((m) => m.id === learner.id),
    "the reconciler kept a learner added just now",
  );
  assert.deepEqual(bed.endedActions(late), [], "its launch action was not abandoned");

  const config = await bootNode(bed, late);
  assert.equal(config.ETCD_ASG_DECISION, "learner");
  assert.deepEqual(await memberNames(bed), [...ids.slice(1), late].sort());
  assert.deepEqual(bed.endedActions(late), [{ hookName: LAUNCH_HOOK, result: "CONTINUE", by: "api" }]);
});
