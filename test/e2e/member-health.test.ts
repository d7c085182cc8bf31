// End to end on the simulator (issue 16): a voter whose etcd dies on a live instance — InService and
// healthy to EC2 — is replaced by the reconciler through the group within the grace period plus one
// replacement; a single crash, restarted by the unit's Restart=on-failure, and a member that is slow
// but answers, both at once, replace nobody; two members dying at once in a 5-node cluster are
// replaced one at a time with a quorum of voters running throughout; a member filled to its backend quota
// raises NOSPACE, which the reconciler reports and clears after the keys are deleted (compaction,
// defragmentation, disarm). Time is compressed by the simulator's overrides: a 10 s grace period, a
// 5 s warm-up and a 5 s reconcile period (the stack: 180 s, 300 s, 1 min), an 8 MiB quota.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { etcdClient } from "../../local/simulator/etcd-client";
import type { EtcdTls } from "../../local/simulator/operator-identity";
import type { Simulator } from "../../local/simulator/simulator";
import { assertEndState, startSimulator } from "./simulator-bed";

const GRACE_MS = 10_000;
const PERIOD_MS = 5000;
/** Longer than the grace period by three passes: a member wrongly judged silent would be marked. */
const WATCH_MS = GRACE_MS + 3 * PERIOD_MS;
const QUOTA = 8 * 1024 * 1024;
/** A slow member: frozen most of the time, yet every status call is answered within the control
 * plane's 1 s status timeout. */
const FROZEN_MS = 700;
const THAWED_MS = 300;

test("replaces a dead etcd on a live instance, one at a time; keeps a crash and a slow member; clears NOSPACE", async (t) => {
  const sim = await startSimulator(t, {
    size: 5,
    healthGraceSeconds: GRACE_MS / 1000,
    healthWarmupSeconds: 5,
    reconcileIntervalMs: PERIOD_MS,
    quotaBackendBytes: QUOTA,
  });
  await sim.waitConverged(180_000);
  await sim.writeKeys("bootstrap", 10);

  await t.test(
    "a single etcd crash is restarted by its unit (Restart=on-failure) and a member that is slow but answers is kept: no replacement",
    async () => {
      // Both at once, on two followers of five: one watch past the grace period covers both, and three
      // sound voters keep the quorum.
      const [crashed, slow] = await followers(sim, 2);
      assert.ok(crashed !== undefined && slow !== undefined);
      const crashedNode = sim.node(crashed);
      const before = crashedNode.etcdPid();
      sim.note(`kill -9 etcd of ${crashed} (a crash)`);
      assert.ok(crashedNode.killEtcd());
      const slowNode = sim.node(slow);
      sim.note(`etcd of ${slow} frozen ${FROZEN_MS} ms of every ${FROZEN_MS + THAWED_MS} ms`);
      const tls = await sim.etcdTls();
      let slowing = true;
      slowNode.freezeEtcd();
      const latency = slowStatus(slowNode.clientUrl, tls);
      const cycle = (async () => {
        while (slowing) {
          await sleep(FROZEN_MS);
          slowNode.thawEtcd();
          await sleep(THAWED_MS);
          if (slowing) slowNode.freezeEtcd();
        }
      })();
      try {
        const ms = await latency;
        assert.ok(ms >= FROZEN_MS / 2, `the first status call to the frozen member took ${ms} ms`);
        await sim.waitFor(
          "the unit to restart etcd",
          () => crashedNode.etcdRunning() && crashedNode.etcdPid() !== before,
          15_000,
        );
        await assertNobodyReplaced(sim, WATCH_MS);
      } finally {
        slowing = false;
        await cycle;
        slowNode.thawEtcd();
      }
      await assertEndState(sim);
    },
  );

  await t.test(
    "etcd killed for good on a live instance: replaced within grace + one replacement",
    async (t2) => {
      const [victim] = await followers(sim, 1);
      assert.ok(victim !== undefined);
      sim.note(`kill -9 etcd of ${victim} for good (its unit does not restart it)`);
      const killedAt = Date.now();
      assert.ok(sim.node(victim).killEtcdForGood());
      await sim.waitFor(
        "the reconciler to mark the instance Unhealthy",
        () => sim.instances().some((i) => i.id === victim && i.healthStatus === "Unhealthy"),
        GRACE_MS + 4 * PERIOD_MS,
      );
      const markedAt = Date.now();
      await sim.waitFor("the instance to leave", () => !sim.instances().some((i) => i.id === victim), 90_000);
      await sim.waitConverged(120_000);
      const convergedAt = Date.now();
      t2.diagnostic(
        `grace ${GRACE_MS} ms: marked Unhealthy ${markedAt - killedAt} ms after the kill; ` +
          `replacement (mark to converged) ${convergedAt - markedAt} ms`,
      );
      // The silence is seen at passes: the first pass after the kill starts the streak, the first pass
      // past the grace period marks the instance; a pass longer than the period skips one tick.
      assert.ok(markedAt - killedAt <= GRACE_MS + 3 * PERIOD_MS, "marked within the grace period");
      await assertEndState(sim);
    },
  );

  await t.test(
    "two members dead at once of 5: replaced one at a time, a quorum running throughout",
    async () => {
      const [first, second] = sim.instances("InService").map((i) => i.id);
      assert.ok(first !== undefined && second !== undefined);
      const watch = watchReplacements(sim);
      sim.note(`kill -9 etcd of ${first} and ${second} for good`);
      sim.node(first).killEtcdForGood();
      sim.node(second).killEtcdForGood();
      await sim.writeKeys("two-dead", 5);
      await sim.waitFor(
        "both to leave",
        () => !sim.instances().some((i) => i.id === first || i.id === second),
        240_000,
      );
      await sim.waitConverged(120_000);
      const seen = await watch.stop();
      assert.equal(seen.maxBeingReplaced, 1, "one instance replaced at a time");
      assert.deepEqual(seen.quorumLost, [], "samples where fewer than a quorum of voters ran");
      assert.ok(seen.samples > 20, `only ${seen.samples} member samples`);
      await sim.writeKeys("after-two-dead", 5);
      await assertEndState(sim);
    },
  );

  await t.test(
    "a member filled to its quota: NOSPACE raised and reported, cleared after delete",
    async () => {
      const tls = await sim.etcdTls();
      const client = etcdClient(sim.clientUrls(), tls);
      try {
        const value = Buffer.alloc(256 * 1024, "x");
        let refused: Error | undefined;
        for (let i = 0; i < 200 && refused === undefined; i++) {
          await client
            .put(`fill/${i}`)
            .value(value)
            .exec()
            .catch((error: Error) => {
              refused = error;
            });
        }
        assert.match(String(refused?.message), /database space exceeded/);
        assert.ok((await alarmKinds(client)).includes("Nospace"), "NOSPACE raised");
        // A pass run now waits for the one under way; either saw the alarm (the metric counts the
        // members that raised it).
        const report = await sim.reconcile();
        assert.match(reconcilerLog(sim), /"EtcdAlarmNospace":[1-5]\b/, JSON.stringify(report));
        sim.note("delete the fill keys");
        await client.delete().prefix("fill/").exec();
        await sim.waitFor(
          "the alarm to be disarmed",
          async () => (await alarmKinds(client)).length === 0,
          60_000,
        );
        await client.put("after-nospace").value("ok").exec();
        const applied = [...reconcilerLog(sim).matchAll(/"etcd upkeep applied".*?"step":"(\w+)"/g)].map(
          (m) => m[1],
        );
        for (const step of ["compact", "defragment", "disarm"])
          assert.ok(applied.includes(step), `${step} applied`);
      } finally {
        client.close();
      }
      await assertEndState(sim);
    },
  );
});

/** `count` voters that are not the leader (killing or freezing the leader adds an election to the case). */
async function followers(sim: Simulator, count: number): Promise<string[]> {
  const client = etcdClient(sim.clientUrls(), await sim.etcdTls());
  try {
    const { leader } = await client.maintenance.status();
    const { members } = await client.cluster.memberList({});
    const names = members.filter((m) => m.ID !== leader && !m.isLearner).map((m) => m.name);
    assert.ok(names.length >= count, `${count} followers, found ${names.join(", ")}`);
    return names.slice(0, count);
  } finally {
    client.close();
  }
}

/** How long a status call to `url` started now takes to be answered. */
async function slowStatus(url: string, tls: EtcdTls): Promise<number> {
  const client = etcdClient(url, tls);
  try {
    const started = Date.now();
    await client.maintenance.status();
    return Date.now() - started;
  } finally {
    client.close();
  }
}

/** For `ms`: the group keeps its instances, none marked Unhealthy. */
async function assertNobodyReplaced(sim: Simulator, ms: number): Promise<void> {
  const groupIds = () => sim.instances().map((i) => i.id);
  const before = groupIds();
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const unhealthy = sim.instances().filter((i) => i.healthStatus === "Unhealthy");
    assert.deepEqual(unhealthy, [], "an instance was marked Unhealthy");
    await sleep(250);
  }
  assert.deepEqual(groupIds().sort(), before.sort(), "the group's instances changed");
}

/** Samples the group and etcd until stopped: how many instances were being replaced at once (marked
 * Unhealthy or terminating), and when fewer than a quorum of the listed voters had etcd running. */
function watchReplacements(sim: Simulator): {
  stop(): Promise<{ maxBeingReplaced: number; quorumLost: string[]; samples: number }>;
} {
  let watching = true;
  let maxBeingReplaced = 0;
  let samples = 0;
  const quorumLost: string[] = [];
  const loop = (async () => {
    while (watching) {
      const replacing = sim
        .instances()
        .filter((i) => i.healthStatus === "Unhealthy" || i.lifecycleState.startsWith("Terminating"));
      maxBeingReplaced = Math.max(maxBeingReplaced, replacing.length);
      try {
        const voters = (await sim.members()).filter((m) => !m.isLearner);
        const running = voters.filter((m) => sim.nodes.get(m.name)?.etcdRunning() === true);
        samples += 1;
        if (running.length <= voters.length / 2) {
          quorumLost.push(
            `${running.length} of ${voters.length} voters running at ${new Date().toISOString()}`,
          );
        }
      } catch {
        // No member answered this read: the next sample sees the list.
      }
      await sleep(250);
    }
  })();
  return {
    stop: async () => {
      watching = false;
      await loop;
      return { maxBeingReplaced, quorumLost, samples };
    },
  };
}

/** The alarms raised, by etcd3's name ("Nospace", "Corrupt"). */
async function alarmKinds(client: ReturnType<typeof etcdClient>): Promise<string[]> {
  const { alarms } = await client.maintenance.alarm({ action: "Get", memberID: 0, alarm: "None" });
  return alarms.map((a) => String(a.alarm));
}

function reconcilerLog(sim: Simulator): string {
  return readFileSync(join(sim.root, "lambda-logs", "reconciler.log"), "utf8");
}
