// Regression test for a defect chaos found (seed 2073, `npm run chaos -- --runs 1 --seed 2073
// --size 3 --episodes 4`): a terminate handler's worker was killed while it held the membership
// lock; the lock stayed held until its lease ran out, the retried invocations gave up waiting for it
// (a retryable error) without touching the lifecycle action, and the terminate hook timed out into
// its DefaultResult with the member still listed. A handler that fails for a passing reason now
// records a heartbeat on its action before the error goes back for a retry.
import assert from "node:assert/strict";
import { test } from "node:test";
import { LockHeldError } from "../../lambdas/adapters/ledger/errors";
import { TERMINATE_HOOK } from "../helpers/control-plane";
import { eventOf, formedCluster, memberNames } from "../helpers/control-plane-flows";

test("a terminate waiting on a crashed lock holder keeps its action alive, then removes the member", async (t) => {
  const { bed, ids } = await formedCluster(t, { LOCK_WAIT_SECONDS: "1" });
  const [leaving] = ids;
  assert.ok(leaving);
  // A holder that will never release: its lease runs out by itself.
  const crashed = await bed.runtime.ledger.acquireLock("crashed-invocation", 60_000, Date.now());
  bed.group.terminateInstance(leaving, true);
  const event = await eventOf(bed, "terminate", leaving);
  const deadline = () => bed.group.activeLifecycleActions().find((a) => a.instanceId === leaving)?.timeoutAt;
  const before = deadline();
  assert.ok(before !== undefined);
  await new Promise((resolve) => setTimeout(resolve, 50));

  await assert.rejects(bed.deliver("terminate", event), LockHeldError);
  assert.ok((deadline() ?? 0) > before, "the heartbeat pushed the action's timeout back");
  const terminations = () => bed.endedActions(leaving).filter((a) => a.hookName === TERMINATE_HOOK);
  assert.deepEqual(terminations(), [], "the action is still waiting");
  assert.ok((await memberNames(bed)).includes(leaving), "nothing was removed without the lock");

  await bed.runtime.ledger.releaseLock(crashed.holder, crashed.version); // as its lease running out would
  await bed.deliver("terminate", event);
  assert.ok(!(await memberNames(bed)).includes(leaving));
  assert.deepEqual(terminations(), [{ hookName: TERMINATE_HOOK, result: "CONTINUE", by: "api" }]);
});
