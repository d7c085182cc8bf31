// End to end on the simulator (issue 15), manual mode (DISASTER_RECOVERY=manual through the
// simulator's override): 2 of 3 instances are destroyed for good after a snapshot and more writes.
// The system waits and raises the alarm — the reconciler emits RecoveryNeedsOperator pass after pass
// — and nothing opens a new generation, replaces the survivor or restores, though the survivor's
// newer data is copied into S3 so that it outlives its instance. The operator's commands, run as the
// CLI runs them against the simulator (`etcd-asg snapshots`, then `etcd-asg restore --key K`), bring
// the cluster back under a new cluster ID from that copy, with every key acknowledged before the loss.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { restore, snapshot, snapshots } from "../../cli/commands";
import { openTarget, type Target } from "../../cli/target";
import { clusterId } from "../../local/simulator/etcd-client";
import type { Simulator } from "../../local/simulator/simulator";
import { startSimulator, waitForNewGeneration } from "./simulator-bed";

const RECONCILE_MS = 2000;
const RECOVERY_BOUND_MS = 150_000;

interface Listing {
  readonly generation: number;
  readonly latest?: { readonly key: string; readonly revision: number };
  readonly restoredFrom?: string;
}

function reconcilerLog(sim: Simulator): string {
  return readFileSync(join(sim.root, "lambda-logs", "reconciler.log"), "utf8");
}

/** How many times the reconciler emitted the RecoveryNeedsOperator metric (embedded metric format). */
function alarmsRaised(sim: Simulator): number {
  return [...reconcilerLog(sim).matchAll(/"RecoveryNeedsOperator":1\b/g)].length;
}

async function listing(target: Target): Promise<Listing> {
  return (await snapshots(target)).json as Listing;
}

test("manual mode: a lost majority raises the alarm and waits; the restore command brings the cluster back under a new cluster ID", async (t) => {
  const sim = await startSimulator(t, {
    size: 3,
    quorumLossThresholdSeconds: 6,
    reconcileIntervalMs: RECONCILE_MS,
    terminateHeartbeatTimeoutMs: 15_000,
    disasterRecovery: "manual",
  });
  await sim.waitConverged(120_000);
  const dir = mkdtempSync(join(tmpdir(), "etcd-asg-manual-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const state = join(dir, "state.json");
  writeFileSync(state, JSON.stringify(sim.operatorState()));
  const target = await openTarget({ kind: "local", stateFile: state });
  t.after(() => target.close());

  const tls = await sim.etcdTls();
  const before = await clusterId(sim.clientUrls(), tls);
  await sim.writeKeys("before-snapshot", 5);
  const taken = (await snapshot(target)).json as { key?: string };
  assert.ok(taken.key, `a snapshot was taken: ${JSON.stringify(taken)}`);
  await sim.writeKeys("after-snapshot", 5);
  const [survivor, ...victims] = sim.instances("InService").map((i) => i.id) as [string, ...string[]];
  await Promise.all(victims.map((id) => sim.killInstance(id)));
  sim.note(`destroyed ${victims.join(", ")} for good; ${survivor} survives without quorum`);

  await sim.waitFor("the reconciler to raise RecoveryNeedsOperator", () => alarmsRaised(sim) > 0, 90_000);
  assert.match(reconcilerLog(sim), /"message":"recovery needs an operator".*manual recovery/);
  // It keeps waiting, pass after pass, raising the alarm each time.
  const raised = alarmsRaised(sim);
  await sim.waitFor("two more passes raising the alarm", () => alarmsRaised(sim) >= raised + 2, 60_000);
  assert.doesNotMatch(reconcilerLog(sim), /opened a new cluster generation/);
  const waiting = await listing(target);
  assert.equal(waiting.generation, 1, "no new generation while the operator decides");
  const live = sim.instances().find((i) => i.id === survivor);
  assert.equal(live?.healthStatus, "Healthy", `${survivor} is left alone while the operator decides`);
  // The survivor's newer data was copied into S3 all the same: it is the newest snapshot.
  assert.ok(waiting.latest !== undefined && waiting.latest.key !== taken.key, JSON.stringify(waiting));

  const recorded = (await restore(target, waiting.latest.key)).json as { generation?: number };
  assert.equal(recorded.generation, 1, "the restore names the generation the operator saw");
  sim.note(`operator: etcd-asg restore --key ${waiting.latest.key}`);
  await waitForNewGeneration(sim, [survivor, ...victims], before, RECOVERY_BOUND_MS);
  const recovered = await listing(target);
  assert.equal(recovered.generation, 2, "the restore opened generation 2");
  assert.equal(recovered.restoredFrom, waiting.latest.key, "restored from the snapshot the operator named");
  assert.deepEqual(await sim.lostKeys(), [], "every key written before the loss is served");
  await sim.writeKeys("after-restore", 3);
});
