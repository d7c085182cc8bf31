// etcd upkeep decisions: NOSPACE recovery (compact, defragment, disarm), scheduled defragmentation
// one member at a time with the leader last, what holds it, and the storage settings published to
// the nodes (quota from the volume size, auto-compaction).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  etcdStorageSettings,
  etcdStorageVariables,
  GIB,
  InvalidStorageInputError,
  MIB,
  quotaBackendBytes,
} from "../../../lambdas/domain/etcd-storage";
import {
  DEFAULT_UPKEEP_POLICY,
  decideUpkeep,
  type MemberStorage,
  NEW_RUN,
  type RaisedAlarm,
  type UpkeepInput,
  type UpkeepRun,
  type UpkeepStep,
} from "../../../lambdas/domain/etcd-upkeep";
import type { Member } from "../../../lambdas/domain/snapshot";
import { member, range } from "../../helpers/snapshots";

const QUOTA = 8 * GIB;
const POLICY = { ...DEFAULT_UPKEEP_POLICY, quotaBackendBytes: QUOTA };
const LINE = (QUOTA / 100) * 80;
const id = (n: number) => String(1000 + n);

/** Member n's status; member 1 leads unless `leader` says otherwise. */
function storage(n: number, dbSize: number, dbSizeInUse: number, leader = 1, revision = 500): MemberStorage {
  return {
    memberId: id(n),
    endpoint: `https://127.0.1.${n}:2379`,
    leaderId: id(leader),
    revision,
    dbSize,
    dbSizeInUse,
  };
}

function upkeep(overrides: Partial<UpkeepInput> & { storage: readonly MemberStorage[] }): UpkeepInput {
  return {
    trigger: "schedule",
    policy: POLICY,
    members: overrides.storage.map((s) => member(Number(s.memberId) - 1000)),
    alarms: [],
    lockHeld: false,
    run: NEW_RUN,
    ...overrides,
  };
}

/** A run that has compacted to revision 500; `freed`: that compaction removed history. */
function compacted(freed = false, defragmented: readonly string[] = []): UpkeepRun {
  return { compactedRevision: 500, compactionFreedHistory: freed, defragmented };
}

const nospace = (n: number): RaisedAlarm => ({ memberId: id(n), alarm: "NOSPACE" });
const step = (input: UpkeepInput): UpkeepStep => decideUpkeep(input).step;

describe("etcd upkeep: NOSPACE recovery", () => {
  const full = [
    storage(1, QUOTA, QUOTA - GIB),
    storage(2, QUOTA, QUOTA - GIB),
    storage(3, QUOTA, QUOTA - GIB),
  ];

  test("compacts to the current revision first", () => {
    const s = step(upkeep({ trigger: "reconcile", storage: full, alarms: [nospace(2)] }));
    assert.deepEqual(s.kind === "compact" && s.revision, 500);
  });

  test("compacts to the highest revision any member has applied", () => {
    const lagging = [storage(1, QUOTA, QUOTA, 1, 510), storage(2, QUOTA, QUOTA, 1, 505)];
    const s = step(upkeep({ trigger: "reconcile", storage: lagging, alarms: [nospace(1)] }));
    assert.deepEqual(s.kind === "compact" && s.revision, 510);
  });

  test("after a compaction that removed history, defragments an oversized member whatever its stale size in use says", () => {
    const s = step(
      upkeep({
        trigger: "reconcile",
        storage: full.map((m) => ({ ...m, dbSizeInUse: m.dbSize })),
        alarms: [nospace(2)],
        run: compacted(true),
      }),
    );
    assert.equal(s.kind, "defragment");
  });

  test("holds, asking for deletes, when a member is still over the line after its defragmentation", () => {
    const after = full.map((m) => ({ ...m, dbSizeInUse: m.dbSize }));
    const s = step(
      upkeep({
        trigger: "reconcile",
        storage: after,
        alarms: [nospace(2)],
        run: compacted(true, [id(1), id(2), id(3)]),
      }),
    );
    assert.equal(s.kind, "hold");
    assert.match(s.reason, /delete keys/);
  });

  test("without a fresh compaction, a member with too little to reclaim is not defragmented again and again", () => {
    const tight = full.map((m) => ({ ...m, dbSizeInUse: m.dbSize - MIB }));
    const s = step(
      upkeep({ trigger: "reconcile", storage: tight, alarms: [nospace(2)], run: compacted(false) }),
    );
    assert.equal(s.kind, "hold");
    assert.match(s.reason, /delete keys/);
  });

  test("compacts again once a delete has moved the revision on", () => {
    const moved = full.map((s) => ({ ...s, revision: 501 }));
    const s = step(
      upkeep({ trigger: "reconcile", storage: moved, alarms: [nospace(2)], run: compacted(true, [id(1)]) }),
    );
    assert.deepEqual(s.kind === "compact" && s.revision, 501);
  });

  test("after compaction, defragments every oversized member, followers first and the leader last", () => {
    // Sizes in use as a stale etcd shows them after the compaction: full.
    const stale = [storage(1, QUOTA, QUOTA), storage(2, QUOTA, QUOTA), storage(3, QUOTA, QUOTA)];
    const order: string[] = [];
    let current = stale;
    for (let i = 0; i < 3; i++) {
      const s = step(
        upkeep({ trigger: "reconcile", storage: current, alarms: [nospace(2)], run: compacted(true, order) }),
      );
      assert.equal(s.kind, "defragment");
      if (s.kind !== "defragment") return;
      order.push(s.memberId);
      current = current.map((m) => (m.memberId === s.memberId ? { ...m, dbSize: GIB, dbSizeInUse: GIB } : m));
    }
    assert.deepEqual(order, [id(2), id(3), id(1)]);
    const last = step(
      upkeep({ trigger: "reconcile", storage: current, alarms: [nospace(2)], run: compacted(true, order) }),
    );
    assert.equal(last.kind, "disarm");
    assert.deepEqual(last.kind === "disarm" && last.alarms, [nospace(2)]);
  });

  test("does not disarm while a db file is over the line, however little is in use", () => {
    const s = step(
      upkeep({
        trigger: "reconcile",
        storage: [storage(1, GIB, GIB), storage(2, LINE, GIB), storage(3, GIB, GIB)],
        alarms: [nospace(2)],
        run: compacted(),
      }),
    );
    assert.equal(s.kind === "defragment" && s.memberId, id(2));
  });

  test("defragmentation in recovery waits for a silent member or the membership lock", () => {
    const oversized = [storage(1, QUOTA, GIB), storage(2, QUOTA, GIB)];
    const members = [member(1), member(2), member(3, { healthy: false })];
    const silent = step(
      upkeep({
        trigger: "reconcile",
        storage: oversized,
        members,
        alarms: [nospace(1)],
        run: compacted(),
      }),
    );
    assert.equal(silent.kind, "hold");
    const locked = step(
      upkeep({
        trigger: "reconcile",
        storage: oversized,
        alarms: [nospace(1)],
        run: compacted(),
        lockHeld: true,
      }),
    );
    assert.equal(locked.kind, "hold");
  });

  test("disarms when every answering member is under the line, and says who did not answer", () => {
    const members = [member(1), member(2), member(3, { healthy: false })];
    const s = step(
      upkeep({
        trigger: "reconcile",
        storage: [storage(1, GIB, GIB), storage(2, GIB, GIB)],
        members,
        alarms: [nospace(1), nospace(3)],
        run: compacted(),
      }),
    );
    assert.equal(s.kind, "disarm");
    assert.match(s.reason, /1003 did not answer/);
  });

  test("does not compact without a leader (compaction goes through raft)", () => {
    const leaderless = full.map((s) => ({ ...s, leaderId: "0" }));
    const s = step(upkeep({ trigger: "reconcile", storage: leaderless, alarms: [nospace(1)] }));
    assert.notEqual(s.kind, "compact");
  });
});

describe("etcd upkeep: alarms", () => {
  test("counts the members with each alarm on every pass", () => {
    const d = decideUpkeep(
      upkeep({
        trigger: "reconcile",
        storage: [storage(1, GIB, GIB)],
        alarms: [nospace(1), nospace(2), nospace(2), { memberId: id(3), alarm: "CORRUPT" }],
      }),
    );
    assert.deepEqual(d.alarmCounts, { nospace: 2, corrupt: 1 });
  });

  test("CORRUPT holds every step, NOSPACE recovery included", () => {
    const s = step(
      upkeep({
        storage: [storage(1, QUOTA, GIB)],
        alarms: [nospace(1), { memberId: id(1), alarm: "CORRUPT" }],
      }),
    );
    assert.equal(s.kind, "hold");
    assert.match(s.reason, /CORRUPT/);
  });

  test("an unreadable alarm list holds", () => {
    assert.equal(step(upkeep({ storage: [storage(1, GIB, 0)], alarms: undefined })).kind, "hold");
  });

  test("without alarms a reconcile pass does nothing", () => {
    assert.equal(step(upkeep({ trigger: "reconcile", storage: [storage(1, GIB, 0)] })).kind, "idle");
  });
});

describe("etcd upkeep: scheduled defragmentation", () => {
  const fragmented = [storage(1, GIB, 100 * MIB), storage(2, GIB, 100 * MIB), storage(3, GIB, 100 * MIB)];

  test("defragments followers first, by member ID, and the leader last", () => {
    const withLeader2 = fragmented.map((s) => ({ ...s, leaderId: id(2) }));
    const order: string[] = [];
    let current = withLeader2;
    for (;;) {
      const s = step(upkeep({ storage: current }));
      if (s.kind !== "defragment") break;
      order.push(s.memberId);
      assert.equal(s.leader, s.memberId === id(2));
      current = current.map((m) => (m.memberId === s.memberId ? { ...m, dbSize: m.dbSizeInUse } : m));
    }
    assert.deepEqual(order, [id(1), id(3), id(2)]);
  });

  test("leaves a member whose free space is too small to be worth the pause", () => {
    const small = [
      storage(1, 100 * MIB, 30 * MIB),
      storage(2, GIB, GIB - 10 * MIB),
      storage(3, 4 * GIB, 3 * GIB + 200 * MIB),
    ];
    // 1: 70 MiB free (70%) → yes. 2: 10 MiB → no. 3: 800 MiB of 4 GiB (19.5%) → no.
    const s = step(upkeep({ storage: small }));
    assert.equal(s.kind === "defragment" && s.memberId, id(1));
    const rest = step(
      upkeep({ storage: small.map((m) => (m.memberId === id(1) ? { ...m, dbSize: m.dbSizeInUse } : m)) }),
    );
    assert.equal(rest.kind, "idle");
  });

  test("near the quota, any worthwhile free space is reclaimed whatever its share", () => {
    const near = [storage(1, LINE, LINE - 100 * MIB)];
    assert.equal(step(upkeep({ storage: near })).kind, "defragment");
  });

  const holds: [string, Partial<UpkeepInput>][] = [
    ["the membership lock is held", { lockHeld: true }],
    [
      "a member does not answer",
      { members: [member(1), member(2), member(3), member(4, { healthy: false })] },
    ],
    ["a learner joins", { members: [member(1), member(2), member(3), member(4, { isLearner: true })] }],
    [
      "a member answered the list but gave no status",
      { members: [member(1), member(2), member(3), member(5)] },
    ],
  ];
  for (const [why, overrides] of holds) {
    test(`holds while ${why}`, () => {
      const s = step(upkeep({ storage: fragmented, ...overrides }));
      assert.equal(s.kind, "hold");
    });
  }

  test("property: one member per step, never the leader while a follower needs it, never while held", () => {
    const sizes = fc.record({
      size: fc.integer({ min: 1, max: 8 * 1024 }),
      used: fc.integer({ min: 0, max: 100 }),
    });
    fc.assert(
      fc.property(
        fc.array(sizes, { minLength: 1, maxLength: 7 }),
        fc.nat(),
        fc.boolean(),
        fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
        (members, leaderPick, lockHeld, healthy) => {
          const leader = (leaderPick % members.length) + 1;
          const stats = members.map((m, i) =>
            storage(i + 1, m.size * MIB, ((m.size * m.used - ((m.size * m.used) % 100)) / 100) * MIB, leader),
          );
          const list: Member[] = range(1, members.length).map((n) =>
            member(n, { healthy: healthy[n - 1] ?? true }),
          );
          const answering = stats.filter((_, i) => list[i]?.healthy);
          const s = step(upkeep({ storage: answering, members: list, lockHeld }));
          if (s.kind !== "defragment") return;
          assert.ok(!lockHeld);
          assert.ok(list.every((m) => m.healthy));
          if (s.leader) {
            const followerWorth = step(
              upkeep({
                storage: answering.filter((a) => a.memberId !== id(leader)),
                members: list.filter((m) => m.id !== id(leader)),
              }),
            );
            assert.notEqual(followerWorth.kind, "defragment", "the leader before a follower that needed it");
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe("etcd storage settings", () => {
  test("the quota is half the volume less 512 MiB, capped at 8 GiB", () => {
    assert.equal(quotaBackendBytes(20 * GIB), 8 * GIB);
    assert.equal(quotaBackendBytes(10 * GIB), 4 * GIB + 768 * MIB);
    assert.equal(quotaBackendBytes(GIB), 256 * MIB);
    assert.equal(quotaBackendBytes(17 * GIB), 8 * GIB);
    assert.equal(quotaBackendBytes(16 * GIB), 7 * GIB + 768 * MIB);
  });

  test("a db at its quota fits twice on the volume with 512 MiB to spare, and the quota is whole MiB", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16_384 }), (gib) => {
        const quota = quotaBackendBytes(gib * GIB);
        assert.ok(2 * quota + 512 * MIB <= gib * GIB);
        assert.ok(quota <= 8 * GIB);
        assert.equal(quota % MIB, 0);
      }),
    );
  });

  test("refuses a volume that leaves no room", () => {
    assert.throws(() => quotaBackendBytes(512 * MIB), InvalidStorageInputError);
    assert.throws(() => etcdStorageSettings(0), InvalidStorageInputError);
    assert.throws(() => etcdStorageSettings(20, 0), InvalidStorageInputError);
  });

  test("publishes periodic auto-compaction with an hour of history by default", () => {
    const settings = etcdStorageSettings(20);
    assert.deepEqual(settings, {
      quotaBackendBytes: 8 * GIB,
      autoCompactionMode: "periodic",
      autoCompactionRetention: "1h",
    });
    assert.equal(etcdStorageSettings(20, 30).autoCompactionRetention, "30m");
    assert.deepEqual(etcdStorageVariables(settings), [
      ["ETCD_QUOTA_BACKEND_BYTES", String(8 * GIB)],
      ["ETCD_AUTO_COMPACTION_MODE", "periodic"],
      ["ETCD_AUTO_COMPACTION_RETENTION", "1h"],
    ]);
  });
});
