// The restore source (the newest data that exists), the initial set of a new generation, and the
// recovery plan in automatic and manual mode: table cases, then properties over random snapshots,
// survivors and registrations.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { type RestoreSource, restoreSourceOf, type SnapshotRecord } from "../../../lambdas/domain/durability";
import type { QuorumLossVerdict } from "../../../lambdas/domain/quorum-loss";
import {
  chooseRestoreSource,
  nextInitialSet,
  oldGenerationInstances,
  type RecoveryInput,
  recoveryPlan,
  type Survivor,
} from "../../../lambdas/domain/recovery";
import type { ClusterRecord } from "../../../lambdas/domain/snapshot";
import { cluster, instance, instanceId, NOW, node, policy, range } from "../../helpers/snapshots";

const G1 = cluster([1, 2, 3]);
const LOST: QuorumLossVerdict = {
  lost: true,
  lostVoters: [instanceId(1), instanceId(2)],
  reason: "test loss",
};
const FINE: QuorumLossVerdict = { lost: false, reason: "a leader was seen" };

function snapshot(revision: number, overrides: Partial<SnapshotRecord> = {}): SnapshotRecord {
  return {
    key: `c/${G1.token}/${String(revision).padStart(20, "0")}.db`,
    token: G1.token,
    generation: 1,
    revision,
    maxRevision: revision + 2,
    size: 24_608,
    sha256: "ab".repeat(32),
    member: { instanceId: instanceId(2), memberId: "1002" },
    takenAt: NOW - 60_000,
    ...overrides,
  };
}

function survivor(n: number, revision: number): Survivor {
  return { instanceId: instanceId(n), memberId: String(1000 + n), revision };
}

function choose(snapshots: SnapshotRecord[], survivors: Survivor[], current: ClusterRecord = G1) {
  return chooseRestoreSource({ cluster: current, snapshots, survivors });
}

describe("chooseRestoreSource", () => {
  test("the newest snapshot when no member answers", () => {
    const choice = choose([snapshot(10), snapshot(30), snapshot(20)], []);
    assert.equal(choice.kind === "snapshot" && choice.source.revision, 30);
  });

  test("a survivor whose revision is above the snapshot's upper bound", () => {
    const choice = choose([snapshot(30)], [survivor(3, 33)]);
    assert.equal(choice.kind === "member" && choice.member.instanceId, instanceId(3));
  });

  test("the snapshot when a survivor's revision falls within the snapshot's bounds", () => {
    assert.equal(choose([snapshot(30)], [survivor(3, 32)]).kind, "snapshot");
  });

  test("without an upper bound, a survivor above the snapshot's revision", () => {
    assert.equal(choose([snapshot(30, { maxRevision: undefined })], [survivor(3, 31)]).kind, "member");
  });

  test("the snapshot on a tie: it is hash-checked and needs no surviving instance", () => {
    assert.equal(choose([snapshot(30, { maxRevision: undefined })], [survivor(3, 30)]).kind, "snapshot");
  });

  test("the survivor with the highest revision among several", () => {
    const choice = choose([], [survivor(1, 40), survivor(3, 41)]);
    assert.equal(choice.kind === "member" && choice.member.revision, 41);
  });

  test("ignores another generation's snapshots, however high their revision", () => {
    const other = snapshot(900, { token: "an-older-token", generation: 0 });
    const choice = choose([other, snapshot(30)], []);
    assert.equal(choice.kind === "snapshot" && choice.source.revision, 30);
  });

  test("falls back to the snapshot the current generation was restored from", () => {
    const restoredFrom = restoreSourceOf(snapshot(50, { token: "gen-1", generation: 1 }));
    const g2: ClusterRecord = { ...G1, token: "gen-2", generation: 2, restoreSource: restoredFrom };
    const choice = choose([], [], g2);
    assert.equal(choice.kind === "snapshot" && choice.source.key, restoredFrom.key);
  });

  test("none when nothing of this generation exists", () => {
    assert.equal(choose([snapshot(30, { token: "another" })], []).kind, "none");
  });
});

describe("nextInitialSet", () => {
  test("the first registered nodes whose instances live, as a bootstrap chooses", () => {
    const nodes = range(1, 5).map((n) => node(n, { phase: "registered", memberId: undefined }));
    const set = nextInitialSet(policy(3), nodes, [instance(2), instance(3), instance(4), instance(5)]);
    assert.deepEqual(
      set?.map((m) => m.instanceId),
      [2, 3, 4].map(instanceId),
    );
    assert.equal(set?.[0]?.peerUrl, "http://127.0.1.2:2380");
  });

  test("skips removed nodes and instances on their way out", () => {
    const fresh = (n: number) => node(n, { phase: "registered", memberId: undefined });
    const nodes = [node(1, { phase: "removed" }), fresh(2), fresh(3), fresh(4)];
    const instances = [instance(1), instance(2, "Terminating:Wait"), instance(3), instance(4)];
    assert.equal(nextInitialSet(policy(3), nodes, instances), undefined);
  });

  test("undefined while fewer than the cluster size are live and registered", () => {
    const nodes = [1, 2].map((n) => node(n, { phase: "registered" }));
    assert.equal(nextInitialSet(policy(3), nodes, [instance(1), instance(2)]), undefined);
  });

  test("never a node that ran the old generation: it is replaced, not reused", () => {
    const nodes = [
      node(1),
      node(2, { phase: "joining" }),
      node(3, { phase: "registered" }),
      node(4, { phase: "not-a-member" }),
    ];
    const instances = range(1, 4).map((n) => instance(n));
    assert.equal(nextInitialSet(policy(3), nodes, instances), undefined);
    assert.deepEqual(oldGenerationInstances(nodes, instances), [1, 2].map(instanceId));
  });
});

/** The record of a generation opened at NOW on instances 3, 4 and 5. */
function opened(token: string, generation: number, restoreSource: RestoreSource): ClusterRecord {
  return {
    token,
    generation,
    size: 3,
    initialMembers: [3, 4, 5].map((n) => ({
      instanceId: instanceId(n),
      peerUrl: `http://127.0.1.${n}:2380`,
    })),
    state: "forming",
    restoreSource,
    openedAt: NOW,
  };
}

describe("recoveryPlan", () => {
  const nodes = [3, 4, 5].map((n) => node(n, { phase: "registered", memberId: undefined }));
  const instances = [instance(3), instance(4, "Pending:Wait"), instance(5, "Pending:Wait")];
  const base: RecoveryInput = {
    mode: "automatic",
    cluster: G1,
    loss: LOST,
    source: choose([snapshot(30)], [survivor(3, 12)]),
    policy: policy(3),
    nodes,
    instances,
    now: NOW,
    proposedToken: "etcd-asg-test-g2",
  };

  test("automatic: opens generation g+1 with a new token, the source and a fresh initial set", () => {
    const plan = recoveryPlan(base);
    assert.equal(plan.kind, "open-generation");
    if (plan.kind !== "open-generation") return;
    assert.deepEqual(plan.cluster, opened("etcd-asg-test-g2", 2, restoreSourceOf(snapshot(30))));
  });

  test("manual: raises the alarm and waits", () => {
    const plan = recoveryPlan({ ...base, mode: "manual" });
    assert.equal(plan.kind, "alarm");
    assert.match(plan.reason, /restore command/);
  });

  test("an operator's restore opens a generation in manual mode, lost or not", () => {
    const chosen: RestoreSource = restoreSourceOf(snapshot(10));
    const plan = recoveryPlan({ ...base, mode: "manual", loss: FINE, operatorRestore: chosen });
    assert.equal(plan.kind === "open-generation" && plan.cluster.restoreSource?.revision, 10);
  });

  test("nothing while quorum is not lost for good", () => {
    assert.equal(recoveryPlan({ ...base, loss: FINE }).kind, "none");
  });

  test("a survivor newer than every snapshot is copied into S3 first, in either mode", () => {
    const source = choose([snapshot(30)], [survivor(3, 99)]);
    for (const mode of ["automatic", "manual"] as const) {
      const plan = recoveryPlan({ ...base, mode, source });
      assert.equal(plan.kind === "copy-survivor" && plan.member.revision, 99);
    }
  });

  test("no data anywhere: an alarm, never an empty cluster", () => {
    const plan = recoveryPlan({ ...base, source: choose([], []) });
    assert.equal(plan.kind, "alarm");
    assert.match(plan.reason, /would lose every key/);
  });

  test("waits until enough live instances are registered", () => {
    const plan = recoveryPlan({ ...base, nodes: nodes.slice(0, 2) });
    assert.equal(plan.kind, "wait");
    assert.match(plan.reason, /generation 2 opens once 3 live instances are registered/);
  });

  test("old-generation nodes in the way are replaced through the group", () => {
    const plan = recoveryPlan({ ...base, nodes: [node(3), ...nodes.slice(1)] });
    assert.equal(plan.kind === "replace-old-nodes" && plan.instances.join(), instanceId(3));
  });

  test("a generation still forming is bootstrap's business, even with its old voters gone", () => {
    const plan = recoveryPlan({ ...base, cluster: cluster([3, 4, 5], "forming") });
    assert.equal(plan.kind, "none");
    assert.match(plan.reason, /forming/);
  });

  describe("a recovered generation whose initial members are all gone before it formed (chaos seed 12002)", () => {
    const source = restoreSourceOf(snapshot(30));
    const g2: ClusterRecord = {
      ...cluster([6, 7, 8], "forming"),
      token: "etcd-asg-test-g2",
      generation: 2,
      restoreSource: source,
      openedAt: NOW - 600_000,
    };
    // The initial members' restores failed: their nodes stayed bootstrapping, their launches were
    // abandoned. Instances 3..5 registered after them and wait for generation 2.
    const gone = [6, 7, 8].map((n) => node(n, { phase: "bootstrapping", phaseSince: NOW - 590_000 }));
    const waiting = [3, 4, 5].map((n) =>
      node(n, { phase: "registered", memberId: undefined, registration: 10 + n }),
    );
    const forming = {
      ...base,
      cluster: g2,
      loss: FINE,
      nodes: [...gone, ...waiting],
      proposedToken: "etcd-asg-test-g3",
    };

    test("opens generation g+1 from the same restore source with a new token and a fresh initial set", () => {
      const live = [
        instance(6, "Terminated"),
        instance(7, "Terminating:Wait"),
        ...[3, 4, 5].map((n) => instance(n)),
      ];
      const plan = recoveryPlan({ ...forming, instances: live });
      assert.equal(plan.kind, "open-generation", plan.reason);
      if (plan.kind !== "open-generation") return;
      assert.deepEqual(plan.cluster, opened("etcd-asg-test-g3", 3, source));
      assert.match(plan.reason, /generation 2 never formed/);
    });

    test("an initial member that is only slow to boot keeps the generation", () => {
      const live = [instance(8, "Pending"), ...[3, 4, 5].map((n) => instance(n))];
      const plan = recoveryPlan({ ...forming, instances: live });
      assert.equal(plan.kind, "none");
      assert.match(plan.reason, /bootstrap's business/);
    });

    test("waits while too few live instances are registered for the next initial set", () => {
      const plan = recoveryPlan({ ...forming, instances: [instance(3), instance(4)] });
      assert.equal(plan.kind, "wait");
      assert.match(plan.reason, /generation 3 opens once 3 live instances are registered/);
    });
  });

  test("after a recovery, a live node of an older generation is replaced however late it shows up", () => {
    const g2: ClusterRecord = { ...cluster([3, 4, 5], "running"), generation: 2, openedAt: NOW - 1000 };
    const late = node(1, { phase: "member", phaseSince: NOW - 5000 });
    const current = [3, 4, 5].map((n) => node(n, { phase: "member", phaseSince: NOW - 500 }));
    const live = [1, 3, 4, 5].map((n) => instance(n));
    const plan = recoveryPlan({
      ...base,
      cluster: g2,
      loss: FINE,
      nodes: [late, ...current],
      instances: live,
    });
    assert.equal(plan.kind === "replace-old-nodes" && plan.instances.join(), instanceId(1));
    const settled = recoveryPlan({ ...base, cluster: g2, loss: FINE, nodes: current, instances: live });
    assert.equal(settled.kind, "none");
  });

  test("no cluster yet is bootstrap's business", () => {
    assert.equal(recoveryPlan({ ...base, cluster: undefined }).kind, "none");
  });
});

describe("recovery properties", () => {
  const snapshotArb = fc
    .record({
      revision: fc.integer({ min: 1, max: 1000 }),
      spread: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
      ours: fc.boolean(),
      age: fc.integer({ min: 0, max: 10_000 }),
    })
    .map(({ revision, spread, ours, age }) =>
      snapshot(revision, {
        key: `k-${revision}-${age}-${ours}`,
        maxRevision: spread === undefined ? undefined : revision + spread,
        takenAt: NOW - age,
        ...(ours ? {} : { token: "older", generation: 0 }),
      }),
    );
  const survivorArb = fc
    .record({ n: fc.integer({ min: 1, max: 5 }), revision: fc.integer({ min: 1, max: 1000 }) })
    .map(({ n, revision }) => survivor(n, revision));
  const inputArb = fc.record({
    snapshots: fc.array(snapshotArb, { maxLength: 6 }),
    survivors: fc.uniqueArray(survivorArb, { selector: (s) => s.instanceId, maxLength: 3 }),
  });

  test("the choice holds the newest data: the highest snapshot revision, or a survivor certainly above it", () => {
    fc.assert(
      fc.property(inputArb, ({ snapshots, survivors }) => {
        const choice = choose(snapshots, survivors);
        const ours = snapshots.filter((s) => s.token === G1.token);
        const best = Math.max(0, ...survivors.map((s) => s.revision));
        const newest = Math.max(0, ...ours.map((s) => s.revision));
        if (choice.kind === "none") {
          assert.equal(ours.length + survivors.length, 0);
        } else if (choice.kind === "member") {
          assert.equal(choice.member.revision, best);
          const tops = ours.filter((s) => s.revision === newest);
          if (tops.length > 0) assert.ok(tops.some((top) => best > (top.maxRevision ?? top.revision)));
        } else {
          assert.equal(choice.source.token, G1.token);
          assert.equal(choice.source.revision, newest);
          const chosen = ours.find((s) => s.key === choice.source.key);
          assert.ok(chosen !== undefined);
          assert.ok(
            best <= (chosen.maxRevision ?? chosen.revision),
            "a certainly newer survivor was passed over",
          );
        }
      }),
      { numRuns: 5_000 },
    );
  });

  test("a plan opens a generation only when quorum is lost for good or an operator restores, with N live members", () => {
    const planArb = fc.record({
      mode: fc.constantFrom("automatic" as const, "manual" as const),
      lost: fc.boolean(),
      operator: fc.boolean(),
      choice: inputArb,
      registered: fc.subarray(range(1, 7)),
      live: fc.subarray(range(1, 7)),
    });
    fc.assert(
      fc.property(planArb, (p) => {
        const input: RecoveryInput = {
          mode: p.mode,
          cluster: G1,
          loss: p.lost ? LOST : FINE,
          source: choose(p.choice.snapshots, p.choice.survivors),
          operatorRestore: p.operator ? restoreSourceOf(snapshot(7)) : undefined,
          policy: policy(3),
          nodes: p.registered.map((n) => node(n, { phase: "registered" })),
          instances: p.live.map((n) => instance(n)),
          now: NOW,
          proposedToken: "fresh",
        };
        const plan = recoveryPlan(input);
        if (plan.kind !== "open-generation") return;
        assert.ok(p.operator || (p.lost && p.mode === "automatic"));
        assert.equal(plan.cluster.generation, G1.generation + 1);
        assert.notEqual(plan.cluster.token, G1.token);
        assert.equal(plan.cluster.initialMembers.length, 3);
        for (const m of plan.cluster.initialMembers) {
          assert.ok(
            p.live.map(instanceId).includes(m.instanceId) &&
              p.registered.map(instanceId).includes(m.instanceId),
          );
        }
        assert.ok(plan.cluster.restoreSource !== undefined, "a recovered generation never starts empty");
      }),
      { numRuns: 5_000 },
    );
  });
});
