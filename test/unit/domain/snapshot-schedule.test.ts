// When a snapshot is due and which member it is streamed from: table cases, then properties over
// random member sets (never a learner, never a member without a leader, a follower whenever one can).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  type SnapshotCandidate,
  type SnapshotDueInput,
  type SnapshotTrigger,
  snapshotDue,
} from "../../../lambdas/domain/snapshot-schedule";
import { instanceId, NOW } from "../../helpers/snapshots";

const MIN = 60_000;
const INTERVAL = 30 * MIN;
const LEADER = "1001";

function candidate(n: number, overrides: Partial<SnapshotCandidate> = {}): SnapshotCandidate {
  return {
    memberId: String(1000 + n),
    name: instanceId(n),
    clientUrl: `https://127.0.1.${n}:2379`,
    isLearner: false,
    answered: true,
    leaderId: LEADER,
    raftAppliedIndex: "500",
    errors: [],
    ...overrides,
  };
}

function input(overrides: Partial<SnapshotDueInput> = {}): SnapshotDueInput {
  return {
    trigger: "schedule",
    now: NOW,
    intervalMs: INTERVAL,
    generation: 1,
    latest: { takenAt: NOW - INTERVAL, generation: 1 },
    candidates: [candidate(1), candidate(2), candidate(3)],
    ...overrides,
  };
}

function ageOf(ms: number) {
  return { takenAt: NOW - ms, generation: 1 };
}

describe("snapshotDue: when", () => {
  const cases: [string, Partial<SnapshotDueInput>, "take" | "skip"][] = [
    ["schedule, latest one interval old", {}, "take"],
    [
      "schedule, latest a little under an interval old (the timer fired early)",
      { latest: ageOf(INTERVAL - 5_000) },
      "take",
    ],
    ["schedule, latest 5 min old (a duplicate delivery)", { latest: ageOf(5 * MIN) }, "skip"],
    ["schedule, no snapshot yet", { latest: undefined }, "take"],
    ["schedule, the latest is of an older generation", { generation: 2, latest: ageOf(MIN) }, "take"],
    ["schedule, latest dated an hour ahead (a wrong clock)", { latest: ageOf(-60 * MIN) }, "take"],
    ["schedule, latest dated a second ahead", { latest: ageOf(-1_000) }, "skip"],
    [
      "before a removal, latest older than the interval",
      { trigger: "before-removal", latest: ageOf(INTERVAL + 1) },
      "take",
    ],
    [
      "before a removal, latest exactly one interval old",
      { trigger: "before-removal", latest: ageOf(INTERVAL) },
      "take",
    ],
    ["before a removal, latest 20 min old", { trigger: "before-removal", latest: ageOf(20 * MIN) }, "skip"],
    ["before a removal, no snapshot yet", { trigger: "before-removal", latest: undefined }, "take"],
    ["on demand, latest a second old", { trigger: "on-demand", latest: ageOf(1_000) }, "take"],
  ];
  for (const [name, overrides, expected] of cases) {
    test(`${expected}s: ${name}`, () => {
      const verdict = snapshotDue(input(overrides));
      assert.equal(verdict.kind, expected, verdict.reason);
    });
  }

  test("due with no member able to serve is no-source, not a skip", () => {
    const verdict = snapshotDue(
      input({ candidates: [candidate(1, { answered: false })], latest: undefined }),
    );
    assert.equal(verdict.kind, "no-source");
    assert.match(verdict.reason, /no voter answered/);
  });

  test("a skip says how old the latest is", () => {
    assert.match(snapshotDue(input({ latest: ageOf(5 * MIN) })).reason, /5 min old \(interval 30 min\)/);
  });
});

describe("snapshotDue: from which member", () => {
  function source(candidates: SnapshotCandidate[]) {
    const verdict = snapshotDue(input({ trigger: "on-demand", candidates }));
    return verdict.kind === "take" ? verdict.source.memberId : verdict.kind;
  }

  test("prefers a follower to the leader", () => {
    assert.equal(source([candidate(1), candidate(2)]), "1002");
  });

  test("takes the leader when no follower answered", () => {
    assert.equal(source([candidate(1), candidate(2, { answered: false })]), "1001");
  });

  test("takes the follower furthest along the raft log", () => {
    const followers = [candidate(2, { raftAppliedIndex: "99" }), candidate(3, { raftAppliedIndex: "100" })];
    assert.equal(source([candidate(1), ...followers]), "1003");
  });

  test("compares raft indexes as numbers, not text, beyond 2^53", () => {
    const followers = [
      candidate(2, { raftAppliedIndex: "9007199254740993" }),
      candidate(3, { raftAppliedIndex: "9007199254740992" }),
    ];
    assert.equal(source(followers), "1002");
  });

  test("never a learner, even a caught-up one", () => {
    assert.equal(source([candidate(1, { answered: false }), candidate(4, { isLearner: true })]), "no-source");
  });

  test("never a member that knows no leader (it may be cut off with old data)", () => {
    assert.equal(source([candidate(2, { leaderId: "0" }), candidate(1)]), "1001");
  });

  test("never a member that reports a corruption alarm", () => {
    assert.equal(source([candidate(2, { errors: ["CORRUPT"] }), candidate(1)]), "1001");
  });

  test("a NOSPACE alarm does not disqualify: that is when a snapshot matters most", () => {
    assert.equal(source([candidate(1), candidate(2, { errors: ["NOSPACE"] })]), "1002");
  });
});

describe("snapshotDue properties", () => {
  const candidateArb = fc.record({
    n: fc.integer({ min: 1, max: 7 }),
    isLearner: fc.boolean(),
    answered: fc.boolean(),
    knowsLeader: fc.boolean(),
    applied: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    corrupt: fc.boolean(),
  });
  const inputArb = fc
    .record({
      trigger: fc.constantFrom<SnapshotTrigger>("schedule", "before-removal", "on-demand"),
      age: fc.option(fc.integer({ min: -2 * INTERVAL, max: 3 * INTERVAL }), { nil: undefined }),
      candidates: fc.uniqueArray(candidateArb, { selector: (c) => c.n, maxLength: 7 }),
    })
    .map(
      ({ trigger, age, candidates }): SnapshotDueInput =>
        input({
          trigger,
          latest: age === undefined ? undefined : ageOf(age),
          candidates: candidates.map((c) =>
            candidate(c.n, {
              isLearner: c.isLearner,
              answered: c.answered,
              leaderId: c.knowsLeader ? LEADER : "0",
              raftAppliedIndex: c.applied.toString(),
              errors: c.corrupt ? ["CORRUPT"] : [],
            }),
          ),
        }),
    );

  test("the source is an answering voter with a leader and no corruption, a follower when one qualifies", () => {
    fc.assert(
      fc.property(inputArb, (i) => {
        const verdict = snapshotDue(i);
        const eligible = i.candidates.filter(
          (c) => c.answered && !c.isLearner && c.leaderId !== "0" && c.errors.length === 0,
        );
        if (verdict.kind === "skip") return;
        if (verdict.kind === "no-source") {
          assert.equal(eligible.length, 0);
          return;
        }
        assert.ok(eligible.includes(verdict.source));
        if (eligible.some((c) => c.memberId !== LEADER)) assert.notEqual(verdict.source.memberId, LEADER);
        const best = eligible
          .filter((c) => (c.memberId === LEADER) === (verdict.source.memberId === LEADER))
          .every((c) => BigInt(c.raftAppliedIndex) <= BigInt(verdict.source.raftAppliedIndex));
        assert.ok(best, "a follower further along was passed over");
      }),
      { numRuns: 5_000 },
    );
  });

  test("on demand always takes one when a member qualifies; a removal never waits past the interval", () => {
    fc.assert(
      fc.property(inputArb, (i) => {
        const verdict = snapshotDue(i);
        const age = i.latest === undefined ? undefined : i.now - i.latest.takenAt;
        if (i.trigger === "on-demand" || age === undefined) assert.notEqual(verdict.kind, "skip");
        if (i.trigger === "before-removal" && age !== undefined && age >= INTERVAL) {
          assert.notEqual(verdict.kind, "skip");
        }
        if (verdict.kind === "skip") assert.ok(age !== undefined && age < INTERVAL && age >= -INTERVAL);
      }),
      { numRuns: 5_000 },
    );
  });
});
