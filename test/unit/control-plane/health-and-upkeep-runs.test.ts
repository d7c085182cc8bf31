// The control plane's health pass and upkeep run over in-memory ports: what is written, in which
// order, and what is never done (a second replacement, a step without the lease, a member
// defragmented twice in one recovery).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { StorageProbe } from "../../../lambdas/adapters/etcd/maintenance";
import { runEtcdUpkeep, type UpkeepPorts } from "../../../lambdas/app/etcd-upkeep";
import { type HealthLedgerPort, runMemberHealth } from "../../../lambdas/app/member-health";
import { GIB } from "../../../lambdas/domain/etcd-storage";
import { DEFAULT_UPKEEP_POLICY, NEW_RUN, type RaisedAlarm } from "../../../lambdas/domain/etcd-upkeep";
import {
  DEFAULT_HEALTH_POLICY,
  type HealthSighting,
  type ReplacementRecord,
} from "../../../lambdas/domain/member-health";
import type { Snapshot } from "../../../lambdas/domain/snapshot";
import { clusterWithDown, silentSighting } from "../../helpers/health";
import { instanceId, member, NOW } from "../../helpers/snapshots";
import { memoryUpkeepProgress } from "../../helpers/upkeep";

const id = (n: number) => String(1000 + n);

/** A ledger port with the adapter's claim rule: one replacement in flight, the same one may be claimed again. */
function memoryHealthLedger(sightings: HealthSighting[] = [], replacement?: ReplacementRecord) {
  const state = { sightings, replacement, calls: [] as string[] };
  const port: HealthLedgerPort = {
    load: async () => ({ sightings: [...state.sightings], replacement: state.replacement }),
    applySightings: async (changes) => {
      state.calls.push("applySightings");
      for (const change of changes) {
        const key = change.kind === "put" ? change.sighting.instanceId : change.instanceId;
        state.sightings = state.sightings.filter((s) => s.instanceId !== key);
        if (change.kind === "put") state.sightings.push(change.sighting);
      }
    },
    startReplacement: async (record) => {
      state.calls.push(`start ${record.instanceId}`);
      const current = state.replacement;
      if (
        current !== undefined &&
        (current.instanceId !== record.instanceId || current.memberId !== record.memberId)
      ) {
        return { started: false, current };
      }
      state.replacement = current ?? record;
      return { started: true, current: state.replacement };
    },
    finishReplacement: async (record) => {
      state.calls.push(`finish ${record.instanceId}`);
      if (state.replacement?.since !== record.since) return false;
      state.replacement = undefined;
      return true;
    },
  };
  return { port, state };
}

function healthPorts(ledger: HealthLedgerPort) {
  const marked: string[] = [];
  const replacements: string[] = [];
  return {
    marked,
    replacements,
    ports: {
      ledger,
      markUnhealthy: async (instance: string) => {
        marked.push(instance);
      },
      signals: {
        replacementRequested: (instance: string) => replacements.push(instance),
        gauges: () => undefined,
      },
      log: () => undefined,
    },
  };
}

function pass(snapshot: Snapshot) {
  return {
    snapshot,
    reports: snapshot.members.filter((m) => m.healthy).map((m) => ({ memberId: m.id, leaderId: id(1) })),
    markedUnhealthy: [],
    policy: DEFAULT_HEALTH_POLICY,
  };
}

describe("health pass", () => {
  test("records the streak first, then claims the replacement, then sets the instance Unhealthy", async () => {
    const { port, state } = memoryHealthLedger([silentSighting(2, 400_000)]);
    const { ports, marked, replacements } = healthPorts(port);
    const outcome = await runMemberHealth(ports, pass(clusterWithDown(3, 2)));
    assert.equal(outcome.replaced, instanceId(2));
    assert.deepEqual(marked, [instanceId(2)]);
    assert.deepEqual(replacements, [instanceId(2)]);
    assert.deepEqual(state.calls, ["applySightings", `start ${instanceId(2)}`]);
  });

  test("a claim lost to another reconciler's replacement sets nothing Unhealthy", async () => {
    const { port, state } = memoryHealthLedger([silentSighting(2, 400_000)]);
    const { ports, marked } = healthPorts(port);
    // Another reconciler claimed member 4 between this pass's read and its claim.
    const load = port.load;
    port.load = async () => {
      const loaded = await load();
      state.replacement = { instanceId: instanceId(4), memberId: id(4), since: NOW, reason: "other" };
      return loaded;
    };
    const outcome = await runMemberHealth(ports, pass(clusterWithDown(5, 2)));
    assert.equal(outcome.decision.kind, "replace");
    assert.equal(outcome.replaced, undefined);
    assert.deepEqual(marked, []);
  });

  test("a finished replacement is cleared before the next is claimed", async () => {
    const gone: ReplacementRecord = {
      instanceId: instanceId(9),
      memberId: id(9),
      since: NOW - 900_000,
      reason: "x",
    };
    const { port, state } = memoryHealthLedger([silentSighting(2, 400_000)], gone);
    const { ports, marked } = healthPorts(port);
    await runMemberHealth(ports, pass(clusterWithDown(5, 2)));
    assert.deepEqual(state.calls, ["applySightings", `finish ${instanceId(9)}`, `start ${instanceId(2)}`]);
    assert.deepEqual(marked, [instanceId(2)]);
  });

  test("a pass with nothing new writes nothing", async () => {
    const fresh = [1, 2, 3].map((n) => ({
      instanceId: instanceId(n),
      memberId: id(n),
      observedAt: NOW - 1000,
      unhealthySince: undefined,
      lastUnhealthyAt: undefined,
      lastHealthyAt: NOW - 1000,
      lastSeenWithLeaderAt: NOW - 1000,
    }));
    const { port, state } = memoryHealthLedger(fresh);
    const { ports } = healthPorts(port);
    const outcome = await runMemberHealth(ports, pass(clusterWithDown(3)));
    assert.equal(outcome.decision.kind, "nothing");
    assert.deepEqual(state.calls, []);
  });
});

/**
 * Three members whose db files are `size` bytes, `live` of them live data. As on etcd 3.4, a
 * compaction leaves the reported size in use stale (nothing commits under NOSPACE); a
 * defragmentation shrinks that member's file to the live data and reports it exactly.
 */
class FakeCluster {
  readonly calls: string[] = [];
  alarms: RaisedAlarm[];
  private readonly files: { size: number; inUse: number }[];

  constructor(
    size: number,
    private readonly live: number,
    alarms: RaisedAlarm[] = [{ memberId: id(2), alarm: "NOSPACE" }],
  ) {
    this.alarms = alarms;
    this.files = [1, 2, 3].map(() => ({ size, inUse: size }));
  }

  readonly maintenance: UpkeepPorts["maintenance"] = {
    probe: async (urls = []) =>
      urls.map((url, i): StorageProbe => {
        const file = this.files[i] ?? { size: 0, inUse: 0 };
        return {
          endpoint: url,
          answered: true,
          status: {
            memberId: id(i + 1),
            endpoint: url,
            leaderId: id(1),
            isLearner: false,
            revision: 500,
            dbSize: file.size,
            dbSizeInUse: file.inUse,
            errors: [],
          },
        };
      }),
    alarms: async () => this.alarms,
    compact: async (revision) => {
      this.calls.push(`compact ${revision}`);
      return this.calls.filter((c) => c.startsWith("compact")).length === 1
        ? "compacted"
        : "already-compacted";
    },
    defragment: async (url) => {
      // Member n listens on 127.0.1.n (test/helpers/snapshots.ts).
      const n = Number(/127\.0\.1\.(\d+):/.exec(url)?.[1]);
      this.calls.push(`defragment ${n}`);
      this.files[n - 1] = { size: this.live, inUse: this.live };
    },
    disarm: async (raised) => {
      this.calls.push(`disarm ${raised.map((a) => a.memberId).join(",")}`);
      this.alarms = [];
      return [];
    },
  };
}

function upkeepPorts(cluster: FakeCluster, progress = memoryUpkeepProgress()) {
  const held: string[] = [];
  const ports: UpkeepPorts = {
    progress,
    actor: "reconcile:test",
    maintenance: cluster.maintenance,
    readMembers: async () => [member(1), member(2), member(3)],
    lockHeld: async () => false,
    signals: { alarms: () => undefined, applied: () => undefined, held: (reason) => held.push(reason) },
    log: () => undefined,
    now: () => NOW,
  };
  return { ports, progress, held };
}

const FULL = 8 * GIB;
const POLICY = { ...DEFAULT_UPKEEP_POLICY, quotaBackendBytes: FULL };
const OPTIONS = { trigger: "reconcile" as const, policy: POLICY, deadline: NOW + 1, leaseTtlMs: 180_000 };

describe("upkeep run", () => {
  test("recovers from NOSPACE: compact, defragment followers then the leader, disarm; the lease is released", async () => {
    const cluster = new FakeCluster(FULL, GIB);
    const { ports, progress } = upkeepPorts(cluster);
    const outcome = await runEtcdUpkeep(ports, OPTIONS);
    assert.deepEqual(cluster.calls, [
      "compact 500",
      "defragment 2",
      "defragment 3",
      "defragment 1",
      `disarm ${id(2)}`,
    ]);
    assert.equal(outcome.last.step.kind, "idle");
    assert.deepEqual(progress.stored(), { run: NEW_RUN, lease: undefined });
  });

  test("a recovery cut short resumes on the next pass without compacting or defragmenting anyone twice", async () => {
    const cluster = new FakeCluster(FULL, GIB);
    const { ports, progress } = upkeepPorts(cluster);
    await runEtcdUpkeep(ports, { ...OPTIONS, maxSteps: 2 });
    assert.deepEqual(cluster.calls, ["compact 500", "defragment 2"]);
    assert.deepEqual(progress.stored().run, {
      compactedRevision: 500,
      compactionFreedHistory: true,
      defragmented: [id(2)],
    });
    await runEtcdUpkeep(ports, OPTIONS);
    assert.deepEqual(cluster.calls, [
      "compact 500",
      "defragment 2",
      "defragment 3",
      "defragment 1",
      `disarm ${id(2)}`,
    ]);
  });

  test("live data over the line: each member is defragmented once, then the run holds pass after pass", async () => {
    const cluster = new FakeCluster(FULL, FULL - GIB);
    const { ports, held } = upkeepPorts(cluster);
    await runEtcdUpkeep(ports, OPTIONS);
    assert.deepEqual(cluster.calls, ["compact 500", "defragment 2", "defragment 3", "defragment 1"]);
    await runEtcdUpkeep(ports, OPTIONS);
    await runEtcdUpkeep(ports, OPTIONS);
    assert.equal(cluster.calls.length, 4);
    assert.equal(held.length, 3);
    assert.match(held[2] ?? "", /delete keys/);
  });

  test("does nothing while another run holds the lease", async () => {
    const cluster = new FakeCluster(FULL, GIB);
    const progress = memoryUpkeepProgress();
    await progress.acquire("reconcile:other", 180_000, NOW);
    const { ports } = upkeepPorts(cluster, progress);
    const outcome = await runEtcdUpkeep(ports, OPTIONS);
    assert.equal(outcome.leaseHeldElsewhere, true);
    assert.deepEqual(cluster.calls, []);
  });

  test("a pass with nothing to do takes no lease and writes nothing", async () => {
    const cluster = new FakeCluster(GIB, GIB, []);
    const progress = memoryUpkeepProgress();
    let acquired = 0;
    const acquire = progress.acquire;
    progress.acquire = async (...args) => {
      acquired += 1;
      return acquire(...args);
    };
    const { ports } = upkeepPorts(cluster, progress);
    const outcome = await runEtcdUpkeep(ports, OPTIONS);
    assert.equal(outcome.last.step.kind, "idle");
    assert.equal(acquired, 0);
  });
});
