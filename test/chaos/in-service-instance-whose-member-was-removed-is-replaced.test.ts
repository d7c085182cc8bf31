// Regression test for a defect chaos found (seeds 3090 and 3049, e.g. `npm run chaos -- --runs 1
// --seed 3090 --size 3 --episodes 2`): under `replace`, a node joining a full cluster removed a
// voter whose etcd did not answer (frozen for 7 s), though its instance stayed in service. Its etcd
// stopped for good once it learnt it was removed, the node API no longer answers a removed node, and
// nothing made the group replace the instance: the reconciler reported "in service but not a
// member" forever. (Seed 3049 ended the same way: an expired learner's launch action was already
// over, so its ABANDON could not replace the instance.) The reconciler now marks such an instance
// Unhealthy and the group replaces it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { reconcile } from "../../lambdas/app/reconcile";
import {
  bootNode,
  eventOf,
  formedCluster,
  killMember,
  memberNames,
  newInstance,
  publishedConfig,
} from "../helpers/control-plane-flows";

test("an in-service instance whose member was removed as dead is marked Unhealthy and replaced", async (t) => {
  const { bed, ids } = await formedCluster(t);
  bed.group.setDesiredCapacity(4);
  const fourth = await newInstance(bed, ids);
  assert.equal((await bed.deliver("launch", await eventOf(bed, "launch", fourth))).status, "completed");
  const silent = ids[0] as string;
  await killMember(bed, ids, silent);

  const config = await publishedConfig(bed, fourth);
  assert.equal(config.ETCD_ASG_DECISION, "learner", "the dead voter made room for the fourth node");
  assert.ok(!(await memberNames(bed)).includes(silent));
  const state = (id: string) => bed.group.instances().find((i) => i.id === id);
  assert.equal(state(silent)?.lifecycleState, "InService", "the group does not know");

  const report = await reconcile(bed.invocation());
  assert.equal(report.replacements, 1);
  assert.equal(state(silent)?.healthStatus, "Unhealthy");
  assert.equal(state(silent)?.lifecycleState, "Terminating:Wait");
  const terminate = await bed.deliver("terminate", await eventOf(bed, "terminate", silent));
  assert.equal(terminate.status, "completed");
  await newInstance(bed, [...ids, fourth]);
  assert.equal((await reconcile(bed.invocation())).replacements, 0, "replaced once");

  await bootNode(bed, fourth);
  assert.deepEqual(await memberNames(bed), [...ids.slice(1), fourth].sort());
});
