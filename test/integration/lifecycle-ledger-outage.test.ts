// A lifecycle event that meets the ledger down at its very first read (has this action been handled
// already?) records a heartbeat on its action before its error goes back for a retry, as it does for
// a failure further on: the action waits for the retry or the reconciler's next pass instead of
// timing out into its DefaultResult. Chaos seed 16025: the terminate hook's event arrived during a
// ledger outage, failed at that read without a heartbeat, and the action timed out into CONTINUE
// with its instance still a voter. The ledger here is a real DynamoDB-compatible server, stopped.
// And a reconcile pass keeps every terminating instance's action alive before it waits for the
// membership lock, which a holder that could not release it (the ledger down at that moment) holds
// for its whole lease: in 16025 the pass reached the termination's heartbeat only after two lock
// waits, past the action's timeout.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { handleLifecycleEvent } from "../../lambdas/app/lifecycle-events";
import { reconcile } from "../../lambdas/app/reconcile";
import { createRuntime } from "../../lambdas/app/runtime";
import { isRetryable } from "../../lambdas/errors";
import type { LifecycleEvent } from "../../local/aws/types";
import { startLocalDynamoDb } from "../../local/dynamodb/server";
import { ControlPlaneBed, LAUNCH_HOOK, TERMINATE_HOOK } from "../helpers/control-plane";
import { eventOf, eventually } from "../helpers/control-plane-flows";

const HEARTBEAT_TIMEOUT_MS = 4000;

/** A bed of one in-service instance, now terminating: its terminate event, and when it started. */
async function terminating(
  t: TestContext,
  heartbeatTimeoutMs: number,
): Promise<{ bed: ControlPlaneBed; victim: string; terminate: LifecycleEvent; startedAt: number }> {
  const bed = await ControlPlaneBed.start(t, { clusterSize: 3, capacity: 1, heartbeatTimeoutMs });
  const victim = await eventually("the first instance", () => bed.instanceIds()[0]);
  bed.group.completeLifecycleAction({ hookName: LAUNCH_HOOK, instanceId: victim, result: "CONTINUE" });
  bed.group.terminateInstance(victim, true);
  const terminate = await eventOf(bed, "terminate", victim);
  return { bed, victim, terminate, startedAt: Date.now() };
}

/** Fails if the terminate action of `victim` ended (by its timeout: nothing here completes it). */
function assertStillTerminating(bed: ControlPlaneBed, victim: string): void {
  assert.deepEqual(
    bed.endedActions(victim).filter((a) => a.hookName === TERMINATE_HOOK),
    [],
    "the terminate action ended without a completion",
  );
  assert.ok(bed.instanceIds().includes(victim), `${victim} left the group while its action was kept alive`);
}

describe("lifecycle actions kept alive while the control plane cannot act", () => {
  test("seed 16025: a terminate event failing at its first ledger read keeps its action alive with a heartbeat", async (t) => {
    const { bed, victim, terminate, startedAt } = await terminating(t, HEARTBEAT_TIMEOUT_MS);

    const gone = await startLocalDynamoDb();
    await gone.stop();
    const ledgerDown = createRuntime({ ...bed.env, AWS_ENDPOINT_URL_DYNAMODB: gone.endpoint });
    await sleep(HEARTBEAT_TIMEOUT_MS / 2);
    await assert.rejects(
      handleLifecycleEvent(ledgerDown, "terminate", terminate, { awsRequestId: randomUUID() }),
      (error) => isRetryable(error),
    );
    // Past the first timeout, still inside the one the heartbeat armed.
    await sleep(startedAt + HEARTBEAT_TIMEOUT_MS + 1000 - Date.now());
    assertStillTerminating(bed, victim);
  });

  test("seed 16025: a reconcile pass keeps a terminating instance's action alive before it waits for a stranded lock", async (t) => {
    const heartbeatTimeoutMs = 6000;
    const { bed, victim, startedAt } = await terminating(t, heartbeatTimeoutMs);
    // A holder that could not release the lock: it holds for its whole lease.
    await bed.runtime.ledger.acquireLock("etcd-asg-stranded", 60_000, Date.now());
    const waitsBriefly = createRuntime({ ...bed.env, LOCK_WAIT_SECONDS: "2" });
    await sleep(heartbeatTimeoutMs / 2);
    // The pass waits for the lock for its own change, then for the termination's (2 s each): it
    // ends either way, with the lock still held.
    await reconcile(waitsBriefly).catch(() => undefined);
    await sleep(startedAt + heartbeatTimeoutMs + 1000 - Date.now());
    assertStillTerminating(bed, victim);
  });
});
