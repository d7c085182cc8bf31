// End to end on the simulator (issue 15): a 3-node cluster with a writer running loses 2 of its 3
// instances for good (kill -9, terminated, their data dirs gone with them), and separately all 3.
// With no operator action the reconciler declares the quorum lost for good, copies a surviving
// member's newer data into S3 first, replaces the old generation's instances, opens generation 2,
// and the nodes restore the newest data through the node API's presigned URL: a 3-node cluster
// serves again under a new cluster ID, and every write acknowledged before the snapshot is
// readable. Each test prints its recovery time and how many acknowledged writes were lost. An
// old-generation node whose etcd comes back late is replaced, never let back in. Time is
// compressed by the simulator's overrides: a 6 s loss threshold, a 2 s reconcile period, a 15 s
// terminate heartbeat (the stack: 300 s, 1 min, 10 min).
import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { clusterId, etcdClient, getKey, putKey } from "../../local/simulator/etcd-client";
import type { Simulator } from "../../local/simulator/simulator";
import { startSimulator, waitForNewGeneration } from "./simulator-bed";

const OVERRIDES = {
  size: 3,
  quorumLossThresholdSeconds: 6,
  reconcileIntervalMs: 2000,
  terminateHeartbeatTimeoutMs: 15_000,
} as const;
const RECOVERY_BOUND_MS = 150_000;

interface Write {
  readonly key: string;
  readonly value: string;
}

/** Writes one key after another until stopped; only acknowledged writes are kept, in order. */
function startWriter(sim: Simulator): { acknowledged: Write[]; stop(): Promise<void> } {
  const acknowledged: Write[] = [];
  let writing = true;
  const loop = (async () => {
    const tls = await sim.etcdTls();
    for (let i = 0; writing; i++) {
      const write = { key: `writer/${String(i).padStart(5, "0")}`, value: `v${i}` };
      try {
        await putKey(sim.clientUrls(), tls, write.key, write.value);
        acknowledged.push(write);
      } catch {
        await sleep(100); // no quorum: the write is not acknowledged
      }
    }
  })();
  return {
    acknowledged,
    stop: async () => {
      writing = false;
      await loop;
    },
  };
}

/** What a member without quorum still holds of the writer's keys (a serializable, member-local read). */
async function heldBy(sim: Simulator, instanceId: string): Promise<Record<string, string>> {
  const client = etcdClient(sim.node(instanceId).clientUrl, await sim.etcdTls());
  try {
    return await client
      .getAll()
      .prefix("writer/")
      .serializable(true)
      .options({ deadline: new Date(Date.now() + 3000) })
      .strings();
  } finally {
    client.close();
  }
}

/** Acknowledged writes that the cluster does not serve as written. */
async function lostWrites(sim: Simulator, writes: readonly Write[]): Promise<Write[]> {
  const tls = await sim.etcdTls();
  const lost: Write[] = [];
  for (const write of writes) {
    if ((await getKey(sim.clientUrls(), tls, write.key)) !== write.value) lost.push(write);
  }
  return lost;
}

/** A formed cluster, a writer, a snapshot, more writes, then `count` instances destroyed for good;
 * waits until a 3-node cluster serves again and checks what it serves. A survivor of the old
 * generation is replaced (never let back in with its old data), and every key it held is served. */
async function loseAndRecover(t: TestContext, count: number): Promise<void> {
  const sim = await startSimulator(t, OVERRIDES);
  await sim.waitConverged(120_000);
  const before = await clusterId(sim.clientUrls(), await sim.etcdTls());
  const writer = startWriter(sim);
  await sleep(2000);
  const beforeSnapshot = writer.acknowledged.length;
  const taken = (await sim.fn("snapshot").invoke({ operation: "snapshot" })) as { key?: string };
  assert.ok(taken.key, `a snapshot was taken: ${JSON.stringify(taken)}`);
  sim.note(`snapshot ${taken.key} taken after ${beforeSnapshot} acknowledged writes`);
  await sleep(2000);
  const inService = sim.instances("InService").map((i) => i.id);
  const victims = inService.slice(0, count);
  const survivors = inService.slice(count);
  const lostAt = Date.now();
  await Promise.all(victims.map((id) => sim.killInstance(id)));
  sim.note(`destroyed ${victims.join(", ")} for good`);
  await sleep(1000);
  await writer.stop();
  const acknowledged = [...writer.acknowledged];
  // Read before the loss is declared: the survivor's data is the newest that exists.
  const held = await Promise.all(survivors.map((id) => heldBy(sim, id)));

  await waitForNewGeneration(sim, [...victims, ...survivors], before, RECOVERY_BOUND_MS);
  const recoveredAt = Date.now();
  const members = await sim.members();
  assert.equal(members.length, 3);
  assert.ok(members.every((m) => !m.isLearner));
  assert.notEqual(await clusterId(sim.clientUrls(), await sim.etcdTls()), before, "a new cluster ID");
  const lost = await lostWrites(sim, acknowledged);
  const lostBeforeSnapshot = lost.filter((w) => acknowledged.indexOf(w) < beforeSnapshot);
  assert.deepEqual(lostBeforeSnapshot, [], "writes acknowledged before the snapshot are lost");
  const listing = (await sim.fn("snapshot").invoke({ operation: "list" })) as {
    generation: number;
    restoredFrom?: string;
  };
  assert.equal(listing.generation, 2, "recovery opened generation 2");
  if (survivors.length > 0) {
    // The survivor held writes after the snapshot: its copy in S3 was restored, not the snapshot.
    assert.notEqual(listing.restoredFrom, taken.key, "the survivor's newer data is the restore source");
    const tls = await sim.etcdTls();
    for (const keys of held) {
      assert.ok(Object.keys(keys).length > beforeSnapshot, "the survivor held writes after the snapshot");
      for (const [key, value] of Object.entries(keys)) {
        assert.equal(await getKey(sim.clientUrls(), tls, key), value, `${key}, held by the survivor`);
      }
    }
  } else {
    assert.equal(listing.restoredFrom, taken.key, "no survivor: the snapshot is the restore source");
  }
  // The cluster takes writes again.
  await sim.writeKeys("after-recovery", 3);
  t.diagnostic(
    `${count} of 3 destroyed: recovery (loss to serving again) ${((recoveredAt - lostAt) / 1000).toFixed(1)} s ` +
      `with a ${OVERRIDES.quorumLossThresholdSeconds} s loss threshold; ${acknowledged.length} writes acknowledged ` +
      `(${beforeSnapshot} before the snapshot), ${lost.length} lost`,
  );
  console.log(
    `disaster-recovery: ${count} of 3 destroyed: recovery ${((recoveredAt - lostAt) / 1000).toFixed(1)} s, ` +
      `acknowledged writes ${acknowledged.length}, lost ${lost.length}`,
  );
}

test("2 of 3 instances destroyed for good: the cluster comes back under a new cluster ID with every write before the snapshot", async (t) => {
  await loseAndRecover(t, 2);
});

test("all 3 instances destroyed for good: the cluster comes back from the snapshot under a new cluster ID", async (t) => {
  await loseAndRecover(t, 3);
});

test("an old-generation node that comes back late never rejoins with its old data", async (t) => {
  const sim = await startSimulator(t, OVERRIDES);
  await sim.waitConverged(120_000);
  const tls = await sim.etcdTls();
  const before = await clusterId(sim.clientUrls(), tls);
  await sim.writeKeys("before-snapshot", 5);
  const taken = (await sim.fn("snapshot").invoke({ operation: "snapshot" })) as { key?: string };
  assert.ok(taken.key, `a snapshot was taken: ${JSON.stringify(taken)}`);
  const [late, ...victims] = sim.instances("InService").map((i) => i.id) as [string, ...string[]];
  // Its etcd stops answering (a hung machine, a cut-off AZ) while its instance lives on.
  assert.ok(sim.node(late).freezeEtcd());
  await Promise.all(victims.map((id) => sim.killInstance(id)));
  sim.note(`${late}'s etcd frozen; destroyed ${victims.join(", ")} for good`);
  await sim.waitFor(
    `the reconciler to replace ${late}, which holds the old generation's data`,
    () => sim.instances().some((i) => i.id === late && i.healthStatus === "Unhealthy"),
    RECOVERY_BOUND_MS,
  );
  // It comes back with its old data while the new generation forms.
  assert.ok(sim.node(late).thawEtcd());
  sim.note(`${late}'s etcd thawed: it runs the old generation's data`);
  await waitForNewGeneration(sim, [late, ...victims], before, RECOVERY_BOUND_MS);
  const members = await sim.members();
  assert.ok(!members.some((m) => m.name === late), `${late} is not a member of the new generation`);
  assert.deepEqual(await sim.lostKeys(), [], "the writes before the snapshot are served");
});
