// Quorum lost for good: table cases of losses and non-losses (a brief partition, a slow election, a
// control plane cut off), the members read from the ledger's node records and health sightings, and
// properties over random sightings.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { faultTolerance, quorum } from "../../../lambdas/domain/quorum";
import {
  type MemberSightings,
  quorumLostForGood,
  sightedMembers,
  withObservations,
} from "../../../lambdas/domain/quorum-loss";
import type { Instance } from "../../../lambdas/domain/snapshot";
import { instance, instanceId, NOW, node, range } from "../../helpers/snapshots";

const MIN = 60_000;
const THRESHOLD = 5 * MIN;

/** Member `n`, known for an hour, that last answered `answeredAgo` ms ago and last named a leader
 * `leaderAgo` ms ago (undefined: never). */
function seen(n: number, answeredAgo?: number, leaderAgo?: number, isLearner = false): MemberSightings {
  return {
    instanceId: instanceId(n),
    memberId: String(1000 + n),
    isLearner,
    knownSince: NOW - 60 * MIN,
    lastAnsweredAt: answeredAgo === undefined ? undefined : NOW - answeredAgo,
    lastLeaderAt: leaderAgo === undefined ? undefined : NOW - leaderAgo,
  };
}

function verdict(members: MemberSightings[], instances: readonly Instance[]) {
  return quorumLostForGood({ now: NOW, thresholdMs: THRESHOLD, members, instances });
}

const everyone = range(1, 3).map((n) => instance(n));
const without = (...gone: number[]) => everyone.filter((i) => !gone.map(instanceId).includes(i.id));

describe("quorumLostForGood", () => {
  test("2 of 3 instances gone and no leader for over the threshold: lost", () => {
    const v = verdict(
      [seen(1, 6 * MIN, 6 * MIN), seen(2, 6 * MIN, 6 * MIN), seen(3, 0, 6 * MIN)],
      without(1, 2),
    );
    assert.equal(v.lost, true, v.reason);
    assert.deepEqual(v.lost && v.lostVoters, [instanceId(1), instanceId(2)]);
  });

  test("all 3 instances gone, so nobody answers: lost", () => {
    const members = [1, 2, 3].map((n) => seen(n, 6 * MIN, 6 * MIN));
    assert.equal(verdict(members, []).lost, true);
  });

  test("the same loss seen only 4 minutes long is not yet a loss (a slow election, a brief outage)", () => {
    const v = verdict(
      [seen(1, 4 * MIN, 4 * MIN), seen(2, 4 * MIN, 4 * MIN), seen(3, 0, 4 * MIN)],
      without(1, 2),
    );
    assert.equal(v.lost, false);
    assert.match(v.reason, /had a leader within the last 300 s/);
  });

  test("a partition that leaves a majority alive and answering is never a loss, however long", () => {
    const v = verdict([seen(1, 0, 50 * MIN), seen(2, 0, 50 * MIN), seen(3, 0, 50 * MIN)], everyone);
    assert.equal(v.lost, false);
    assert.match(v.reason, /0 of 3 voters' instances gone, 0 silent/);
  });

  test("2 etcds silent on live instances while the third answers without a leader: lost", () => {
    const v = verdict([seen(1, 6 * MIN, 6 * MIN), seen(2, 6 * MIN, 6 * MIN), seen(3, 0, 6 * MIN)], everyone);
    assert.equal(v.lost, true);
  });

  test("nobody answering while every instance lives: the control plane may be cut off, not a loss", () => {
    const v = verdict(
      [1, 2, 3].map((n) => seen(n, 6 * MIN, 6 * MIN)),
      everyone,
    );
    assert.equal(v.lost, false);
    assert.match(v.reason, /silence is not counted/);
  });

  test("one instance gone of 3 is within what 3 voters tolerate", () => {
    assert.equal(verdict([seen(1, 9 * MIN), seen(2, 0), seen(3, 0)], without(1)).lost, false);
  });

  test("a member known for less than the threshold is not yet counted as leaderless", () => {
    const fresh = { ...seen(3), knownSince: NOW - 2 * MIN };
    assert.equal(
      verdict([seen(1, 9 * MIN, 9 * MIN), seen(2, 9 * MIN, 9 * MIN), fresh], without(1, 2)).lost,
      false,
    );
  });

  test("no voter known: not a loss", () => {
    assert.equal(verdict([], []).lost, false);
    assert.equal(verdict([seen(4, undefined, undefined, true)], []).lost, false);
  });

  test("a learner's leader counts as a leader; a learner's absence does not count toward the loss", () => {
    const members = [seen(1, 9 * MIN, 9 * MIN), seen(2, 9 * MIN, 9 * MIN), seen(3, 9 * MIN, 9 * MIN)];
    assert.equal(verdict([...members, seen(4, 0, MIN, true)], []).lost, false);
    const lost = verdict([...members, seen(4, 9 * MIN, 9 * MIN, true)], []);
    assert.deepEqual(lost.lost && lost.lostVoters, [1, 2, 3].map(instanceId));
  });
});

describe("sightedMembers", () => {
  test("voters and learners from the node phases, with the sighting of the same member", () => {
    const nodes = [
      node(1),
      node(2, { phase: "joining" }),
      node(3, { phase: "bootstrapping" }),
      node(4, { phase: "registered", memberId: undefined }),
      node(5, { phase: "removed" }),
    ];
    const sightings = [
      { instanceId: instanceId(1), memberId: "1001", lastHealthyAt: NOW - 1, lastSeenWithLeaderAt: NOW - 2 },
      // A sighting of the member this instance had before: not this member's.
      { instanceId: instanceId(3), memberId: "999", lastHealthyAt: NOW, lastSeenWithLeaderAt: NOW },
    ];
    assert.deepEqual(sightedMembers(nodes, sightings), [
      {
        instanceId: instanceId(1),
        memberId: "1001",
        isLearner: false,
        knownSince: NOW - 30_000,
        lastAnsweredAt: NOW - 1,
        lastLeaderAt: NOW - 2,
      },
      {
        instanceId: instanceId(2),
        memberId: "1002",
        isLearner: true,
        knownSince: NOW - 30_000,
        lastAnsweredAt: undefined,
        lastLeaderAt: undefined,
      },
      {
        instanceId: instanceId(3),
        memberId: "1003",
        isLearner: false,
        knownSince: NOW - 30_000,
        lastAnsweredAt: undefined,
        lastLeaderAt: undefined,
      },
    ]);
  });
});

describe("sightedMembers of an initial set", () => {
  test("a bootstrapping node without a member ID in the ledger takes its sighting's member ID", () => {
    const nodes = [node(1, { phase: "bootstrapping", memberId: undefined })];
    const sightings = [
      { instanceId: instanceId(1), memberId: "77", lastHealthyAt: NOW, lastSeenWithLeaderAt: NOW - 5 },
    ];
    const [member] = sightedMembers(nodes, sightings);
    assert.equal(member?.memberId, "77");
    assert.equal(member?.lastLeaderAt, NOW - 5);
  });

  test("without any sighting yet it is still a voter, never seen", () => {
    const [member] = sightedMembers([node(1, { phase: "bootstrapping", memberId: undefined })], []);
    assert.deepEqual([member?.isLearner, member?.lastAnsweredAt], [false, undefined]);
  });
});

describe("sightedMembers after a recovery", () => {
  test("a node whose phase changed before the generation opened ran an older one", () => {
    const nodes = [node(1, { phaseSince: NOW - 10 }), node(2, { phase: "bootstrapping", phaseSince: NOW })];
    assert.deepEqual(
      sightedMembers(nodes, [], NOW - 5).map((m) => m.instanceId),
      [instanceId(2)],
    );
  });
});

describe("withObservations", () => {
  test("an answer in this pass is a sighting now; a leader only when it named one", () => {
    const members = [seen(1, 6 * MIN, 6 * MIN), seen(2, 6 * MIN, 6 * MIN), seen(3, 6 * MIN, 6 * MIN)];
    const updated = withObservations(
      members,
      [
        { instanceId: instanceId(1), leaderKnown: true },
        { instanceId: instanceId(2), leaderKnown: false },
      ],
      NOW,
    );
    assert.deepEqual(
      updated.map((m) => [m.lastAnsweredAt, m.lastLeaderAt]),
      [
        [NOW, NOW],
        [NOW, NOW - 6 * MIN],
        [NOW - 6 * MIN, NOW - 6 * MIN],
      ],
    );
  });

  test("a leader named in this pass turns a loss the ledger alone would show into none", () => {
    const members = [seen(1, 6 * MIN, 6 * MIN), seen(2, 6 * MIN, 6 * MIN), seen(3, 6 * MIN, 6 * MIN)];
    assert.equal(verdict(members, without(1, 2)).lost, true);
    const now = withObservations(members, [{ instanceId: instanceId(3), leaderKnown: true }], NOW);
    assert.equal(verdict(now, without(1, 2)).lost, false);
  });
});

describe("quorumLostForGood properties", () => {
  const ago = fc.option(fc.integer({ min: 0, max: 20 * MIN }), { nil: undefined });
  const memberArb = fc.record({
    n: fc.integer({ min: 1, max: 7 }),
    answered: ago,
    leader: ago,
    knownFor: fc.integer({ min: 0, max: 20 * MIN }),
    isLearner: fc.boolean(),
    live: fc.boolean(),
  });
  const inputArb = fc.uniqueArray(memberArb, { selector: (m) => m.n, maxLength: 7 }).map((drawn) => ({
    members: drawn.map(
      (m): MemberSightings => ({
        ...seen(m.n, m.answered, m.leader, m.isLearner),
        knownSince: NOW - m.knownFor,
      }),
    ),
    instances: drawn.filter((m) => m.live).map((m) => instance(m.n)),
  }));
  const since = (time: number | undefined, m: MemberSightings) => NOW - (time ?? m.knownSince);

  test("a loss means no leader was seen within the threshold and more voters are lost than tolerated", () => {
    fc.assert(
      fc.property(inputArb, ({ members, instances }) => {
        const v = verdict(members, instances);
        if (!v.lost) return;
        for (const m of members)
          assert.ok(since(m.lastLeaderAt, m) > THRESHOLD, `${m.memberId} had a leader lately`);
        const voters = members.filter((m) => !m.isLearner);
        assert.ok(v.lostVoters.length > faultTolerance(voters.length));
        const live = new Set(instances.map((i) => i.id));
        for (const id of v.lostVoters) {
          const m = voters.find((x) => x.instanceId === id);
          assert.ok(m !== undefined);
          assert.ok(!live.has(id) || since(m.lastAnsweredAt, m) > THRESHOLD);
        }
      }),
      { numRuns: 10_000 },
    );
  });

  test("never a loss while a quorum of voters live and answered within the threshold", () => {
    fc.assert(
      fc.property(inputArb, ({ members, instances }) => {
        const live = new Set(instances.map((i) => i.id));
        const voters = members.filter((m) => !m.isLearner);
        const fine = voters.filter((m) => live.has(m.instanceId) && since(m.lastAnsweredAt, m) <= THRESHOLD);
        if (voters.length > 0 && fine.length >= quorum(voters.length)) {
          assert.equal(verdict(members, instances).lost, false);
        }
      }),
      { numRuns: 10_000 },
    );
  });

  test("some draws are losses (the properties above are not vacuous)", () => {
    const draws = fc.sample(inputArb, { numRuns: 2_000, seed: 42 });
    const losses = draws.filter(({ members, instances }) => verdict(members, instances).lost).length;
    assert.ok(losses > 100, `${losses} losses in 2000 draws`);
  });
});
