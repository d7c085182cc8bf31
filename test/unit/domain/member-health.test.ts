// The health decision, case by case: who is replaced when, and what the ledger records meanwhile.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  DEFAULT_HEALTH_POLICY,
  decideMemberHealth,
  type HealthDecision,
  type HealthSighting,
  healthPolicy,
  healthSignals,
  InvalidHealthPolicyError,
  type MemberHealthInput,
  type ReplacementRecord,
  type SightingChange,
  type StatusReport,
} from "../../../lambdas/domain/member-health";
import type { Snapshot } from "../../../lambdas/domain/snapshot";
import { clusterWithDown, memberIdOf, silentSighting } from "../../helpers/health";
import { instance, instanceId, member, NOW, withInstance, withMember } from "../../helpers/snapshots";

const SECOND = 1000;
const { graceMs, warmupMs, maxObservationGapMs, replacementRetryMs } = DEFAULT_HEALTH_POLICY;

const id = memberIdOf;
const silent = silentSighting;

/** Every voter that answers names `leader` (member 1 by default). */
function reportsOf(snapshot: Snapshot, leader = id(1)): StatusReport[] {
  return snapshot.members.filter((m) => m.healthy).map((m) => ({ memberId: m.id, leaderId: leader }));
}

function input(snapshot: Snapshot, overrides: Partial<MemberHealthInput> = {}): MemberHealthInput {
  return {
    snapshot,
    reports: reportsOf(snapshot),
    markedUnhealthy: [],
    sightings: [],
    replacement: undefined,
    policy: DEFAULT_HEALTH_POLICY,
    ...overrides,
  };
}

/** A sighting of member n answering, written `age` ago. */
function answering(n: number, age = 10 * SECOND): HealthSighting {
  return {
    instanceId: instanceId(n),
    memberId: id(n),
    observedAt: NOW - age,
    unhealthySince: undefined,
    lastUnhealthyAt: undefined,
    lastHealthyAt: NOW - age,
    lastSeenWithLeaderAt: NOW - age,
  };
}

function sightingsOf(d: HealthDecision): readonly SightingChange[] {
  return d.kind === "nothing" ? [] : d.sightings;
}

function putFor(d: HealthDecision, n: number): HealthSighting | undefined {
  for (const change of sightingsOf(d)) {
    if (change.kind === "put" && change.sighting.instanceId === instanceId(n)) return change.sighting;
  }
  return undefined;
}

function replaced(d: HealthDecision): string | undefined {
  return d.kind === "replace" ? d.instanceId : undefined;
}

describe("member health: when a voter is replaced", () => {
  test("a voter silent past the grace period on an InService instance is replaced", () => {
    const s = clusterWithDown(3, 2);
    const d = decideMemberHealth(input(s, { sightings: [silent(2, graceMs + SECOND)] }));
    assert.equal(replaced(d), instanceId(2));
    assert.equal(d.kind === "replace" && d.replacement.since, NOW);
    assert.equal(d.kind === "replace" && d.retry, false);
    assert.match(d.kind === "replace" ? d.reason : "", /has not answered/);
  });

  test("a voter silent for less than the grace period is not replaced, and its streak goes on", () => {
    const s = clusterWithDown(3, 2);
    const d = decideMemberHealth(input(s, { sightings: [silent(2, graceMs - SECOND)] }));
    assert.equal(replaced(d), undefined);
    assert.equal(putFor(d, 2)?.unhealthySince, NOW - graceMs + SECOND);
    assert.equal(putFor(d, 2)?.lastUnhealthyAt, NOW);
  });

  test("exactly the grace period is not longer than it", () => {
    const d = decideMemberHealth(input(clusterWithDown(3, 2), { sightings: [silent(2, graceMs)] }));
    assert.equal(replaced(d), undefined);
  });

  test("the first silent pass starts a streak and replaces nobody", () => {
    const d = decideMemberHealth(input(clusterWithDown(3, 2), { sightings: [answering(2)] }));
    assert.equal(d.kind, "record");
    assert.equal(putFor(d, 2)?.unhealthySince, NOW);
  });

  test("a streak whose last pass is older than the observation gap starts over", () => {
    const old = silent(2, 10 * graceMs, maxObservationGapMs + SECOND);
    const d = decideMemberHealth(input(clusterWithDown(3, 2), { sightings: [old] }));
    assert.equal(replaced(d), undefined);
    assert.equal(putFor(d, 2)?.unhealthySince, NOW);
  });

  test("a member that healed clears its streak and is never replaced", () => {
    const s = clusterWithDown(3);
    const d = decideMemberHealth(input(s, { sightings: [silent(2, 10 * graceMs)] }));
    assert.equal(replaced(d), undefined);
    assert.equal(putFor(d, 2)?.unhealthySince, undefined);
    assert.equal(putFor(d, 2)?.lastHealthyAt, NOW);
  });

  test("a member that is slow but answered is healthy, whatever its stored streak says", () => {
    // "answered" is the status call's verdict (within its timeout): the decision sees healthy = true.
    const d = decideMemberHealth(input(clusterWithDown(5), { sightings: [silent(4, 100 * graceMs)] }));
    assert.equal(replaced(d), undefined);
  });

  test("a voter that has not started on an InService instance is replaced after warm-up and grace", () => {
    let s = withMember(clusterWithDown(3), 3, { started: false, healthy: false, name: "", clientUrls: [] });
    s = {
      ...s,
      ledger: {
        ...s.ledger,
        nodes: s.ledger.nodes.map((r) =>
          r.instanceId === instanceId(3)
            ? { ...r, phase: "bootstrapping" as const, phaseSince: NOW - 3_600_000 }
            : r,
        ),
      },
    };
    const d = decideMemberHealth(input(s, { sightings: [silent(3, graceMs + SECOND)] }));
    assert.equal(replaced(d), instanceId(3));
    assert.match(d.kind === "replace" ? d.reason : "", /has not started/);
  });

  test("a new member's warm-up counts from its promotion: silence before it ends does not count", () => {
    const promotedRecently = (since: number): Snapshot => {
      const s = clusterWithDown(3, 3);
      return {
        ...s,
        ledger: {
          ...s.ledger,
          nodes: s.ledger.nodes.map((r) =>
            r.instanceId === instanceId(3) ? { ...r, phaseSince: since } : r,
          ),
        },
      };
    };
    const sightings = [silent(3, 10 * graceMs)];
    // Warm-up ends 100 s ago: only 100 s of silence count.
    const early = decideMemberHealth(input(promotedRecently(NOW - warmupMs - 100 * SECOND), { sightings }));
    assert.equal(replaced(early), undefined);
    // Warm-up ended more than a grace period ago.
    const late = decideMemberHealth(
      input(promotedRecently(NOW - warmupMs - graceMs - SECOND), { sightings }),
    );
    assert.equal(replaced(late), instanceId(3));
  });

  test("without a node record the warm-up counts from the instance's launch", () => {
    let s = clusterWithDown(3, 2);
    s = {
      ...s,
      ledger: { ...s.ledger, nodes: s.ledger.nodes.filter((r) => r.instanceId !== instanceId(2)) },
    };
    s = withInstance(s, 2, { launchTime: NOW - warmupMs });
    const d = decideMemberHealth(input(s, { sightings: [silent(2, 10 * graceMs)] }));
    assert.equal(replaced(d), undefined);
  });

  test("of two silent voters in a 5-node cluster, only the one silent longest is replaced", () => {
    const s = clusterWithDown(5, 2, 4);
    const d = decideMemberHealth(
      input(s, { sightings: [silent(2, graceMs + 10 * SECOND), silent(4, graceMs + 20 * SECOND)] }),
    );
    assert.equal(replaced(d), instanceId(4));
  });

  test("a replacement that would leave fewer voters than the configured size's quorum is not made", () => {
    // Configured for 5; two voters already removed; one of the three left is silent.
    let s = clusterWithDown(5, 3);
    s = { ...s, members: s.members.filter((m) => m.id !== id(4) && m.id !== id(5)) };
    const d = decideMemberHealth(input(s, { sightings: [silent(3, 10 * graceMs)] }));
    assert.equal(replaced(d), undefined);
    assert.match(d.kind === "nothing" ? "" : d.reason, /configured size needs 3/);
  });
});

describe("member health: a view without quorum replaces nobody", () => {
  test("reaching a minority of the voters, nobody is replaced and no silence is counted", () => {
    const s = clusterWithDown(3, 2, 3);
    const d = decideMemberHealth(input(s, { sightings: [silent(2, 10 * graceMs), silent(3, 10 * graceMs)] }));
    assert.equal(replaced(d), undefined);
    assert.match(
      d.kind === "nothing" ? d.reason : d.reason,
      /cannot tell a dead member from its own partition/,
    );
    assert.equal(putFor(d, 2), undefined);
    assert.equal(putFor(d, 3), undefined);
  });

  test("a majority that answers but knows no leader is not a quorum view", () => {
    const s = clusterWithDown(5, 5);
    const reports = reportsOf(s, "0");
    const d = decideMemberHealth(input(s, { reports, sightings: [silent(5, 10 * graceMs)] }));
    assert.equal(replaced(d), undefined);
  });

  test("without status reports (not wired) nothing is replaced", () => {
    const d = decideMemberHealth(
      input(clusterWithDown(3, 2), { reports: [], sightings: [silent(2, 10 * graceMs)] }),
    );
    assert.equal(replaced(d), undefined);
  });

  test("answers of a minority are still recorded (last healthy, last seen with a leader)", () => {
    const s = clusterWithDown(3, 2, 3);
    const d = decideMemberHealth(input(s));
    assert.equal(putFor(d, 1)?.lastHealthyAt, NOW);
    assert.equal(putFor(d, 1)?.lastSeenWithLeaderAt, NOW);
  });

  test("a silent member its peers follow as leader is alive: no streak, no replacement", () => {
    const s = clusterWithDown(3, 1);
    const d = decideMemberHealth(
      input(s, { reports: reportsOf(s, id(1)), sightings: [silent(1, 10 * graceMs)] }),
    );
    assert.equal(replaced(d), undefined);
    assert.equal(putFor(d, 1)?.unhealthySince, undefined);
  });
});

describe("member health: one replacement at a time", () => {
  const due = [silent(2, 10 * graceMs)];

  test("not while another instance is terminating", () => {
    let s = clusterWithDown(5, 2);
    s = withInstance(s, 5, { lifecycleState: "Terminating:Wait" });
    const d = decideMemberHealth(input(s, { sightings: due }));
    assert.equal(replaced(d), undefined);
    assert.match(d.kind === "nothing" ? d.reason : d.reason, /one replacement at a time/);
  });

  test("not while another instance is marked Unhealthy", () => {
    const d = decideMemberHealth(
      input(clusterWithDown(5, 2), { sightings: due, markedUnhealthy: [instanceId(4)] }),
    );
    assert.equal(replaced(d), undefined);
  });

  test("not while a learner joins", () => {
    const s = clusterWithDown(5, 2);
    const learner = member(6, { isLearner: true });
    const d = decideMemberHealth(input({ ...s, members: [...s.members, learner] }, { sightings: due }));
    assert.equal(replaced(d), undefined);
    assert.match(d.kind === "nothing" ? d.reason : d.reason, /learner/);
  });

  test("not an instance that is not InService", () => {
    const d = decideMemberHealth(
      input(withInstance(clusterWithDown(3, 2), 2, { lifecycleState: "Standby" }), { sightings: due }),
    );
    assert.equal(replaced(d), undefined);
  });

  test("not while the recorded replacement's instance is still in the group", () => {
    const record: ReplacementRecord = {
      instanceId: instanceId(4),
      memberId: id(4),
      since: NOW - 30 * SECOND,
      reason: "x",
    };
    const s = clusterWithDown(5, 2, 4);
    const d = decideMemberHealth(
      input(s, { sightings: [...due, silent(4, 10 * graceMs)], replacement: record }),
    );
    assert.equal(replaced(d), undefined);
    assert.match(d.kind === "nothing" ? d.reason : d.reason, /waiting for the group/);
  });

  test("a recorded replacement the group never took is asked for again after the retry delay", () => {
    const record: ReplacementRecord = {
      instanceId: instanceId(2),
      memberId: id(2),
      since: NOW - replacementRetryMs - SECOND,
      reason: "x",
    };
    const d = decideMemberHealth(input(clusterWithDown(3, 2), { sightings: due, replacement: record }));
    assert.equal(replaced(d), instanceId(2));
    assert.equal(d.kind === "replace" && d.retry, true);
    assert.deepEqual(d.kind === "replace" && d.replacement, record);
  });

  test("a recorded replacement whose member answers again is called off", () => {
    const record: ReplacementRecord = {
      instanceId: instanceId(2),
      memberId: id(2),
      since: NOW - 30 * SECOND,
      reason: "x",
    };
    const d = decideMemberHealth(input(clusterWithDown(3), { replacement: record }));
    assert.equal(d.kind, "record");
    assert.deepEqual(d.kind === "record" && d.finished, record);
  });

  test("once the replaced instance has left the group its record is finished and the next may start", () => {
    const record: ReplacementRecord = {
      instanceId: instanceId(9),
      memberId: id(9),
      since: NOW - 600 * SECOND,
      reason: "x",
    };
    const d = decideMemberHealth(input(clusterWithDown(5, 2), { sightings: due, replacement: record }));
    assert.equal(replaced(d), instanceId(2));
    assert.deepEqual(d.kind === "replace" && d.finished, record);
  });

  test("a terminated instance's record is finished too", () => {
    const record: ReplacementRecord = {
      instanceId: instanceId(6),
      memberId: id(6),
      since: NOW - 600 * SECOND,
      reason: "x",
    };
    let s = clusterWithDown(5);
    s = { ...s, instances: [...s.instances, instance(6, "Terminated")] };
    const d = decideMemberHealth(input(s, { replacement: record }));
    assert.deepEqual(d.kind === "record" && d.finished, record);
  });
});

describe("member health: what is recorded", () => {
  test("nothing is written while every record is fresh", () => {
    const s = clusterWithDown(3);
    const d = decideMemberHealth(input(s, { sightings: [answering(1), answering(2), answering(3)] }));
    assert.equal(d.kind, "nothing");
  });

  test("a healthy member's record is refreshed once it is older than the refresh interval", () => {
    const s = clusterWithDown(3);
    const old = DEFAULT_HEALTH_POLICY.refreshMs + SECOND;
    const d = decideMemberHealth(input(s, { sightings: [answering(1, old), answering(2), answering(3)] }));
    assert.equal(putFor(d, 1)?.lastHealthyAt, NOW);
    assert.equal(putFor(d, 2), undefined);
  });

  test("an answer without a leader keeps the last time it was seen with one", () => {
    const s = clusterWithDown(3);
    const reports = reportsOf(s).map((r) => (r.memberId === id(3) ? { ...r, leaderId: "0" } : r));
    const d = decideMemberHealth(input(s, { reports, sightings: [answering(3, 600 * SECOND)] }));
    assert.equal(putFor(d, 3)?.lastHealthyAt, NOW);
    assert.equal(putFor(d, 3)?.lastSeenWithLeaderAt, NOW - 600 * SECOND);
  });

  test("the record of a member no longer in etcd's list is forgotten", () => {
    const s = clusterWithDown(3);
    const d = decideMemberHealth(
      input(s, { sightings: [answering(1), answering(2), answering(3), silent(7, 1)] }),
    );
    assert.deepEqual(sightingsOf(d), [{ kind: "forget", instanceId: instanceId(7), observedAt: NOW }]);
  });

  test("a record of another member ID on the same instance does not carry its streak over", () => {
    const stale = { ...silent(2, 10 * graceMs), memberId: "4242" };
    const d = decideMemberHealth(input(clusterWithDown(3, 2), { sightings: [stale] }));
    assert.equal(replaced(d), undefined);
    assert.equal(putFor(d, 2)?.unhealthySince, NOW);
    assert.equal(putFor(d, 2)?.memberId, id(2));
  });

  test("no member list (every etcd silent): nothing is decided and every record is kept", () => {
    const s = { ...clusterWithDown(3), members: [] };
    const d = decideMemberHealth(input(s, { sightings: [answering(1)] }));
    assert.equal(d.kind, "nothing");
  });

  test("no cluster yet: nothing", () => {
    const s = clusterWithDown(3);
    const d = decideMemberHealth(input({ ...s, ledger: { ...s.ledger, cluster: undefined } }));
    assert.equal(d.kind, "nothing");
  });

  test("a stored streak of member 2 stays put when a minority view cannot see it", () => {
    const s = clusterWithDown(3, 2, 3);
    const d = decideMemberHealth(input(s, { sightings: [silent(2, 60 * SECOND)] }));
    assert.equal(putFor(d, 2), undefined);
  });
});

describe("member health: policy and gauges", () => {
  test("the defaults are the policy of a 3 min grace, 5 min warm-up and a reconciler every minute", () => {
    assert.deepEqual(healthPolicy(), DEFAULT_HEALTH_POLICY);
    assert.deepEqual(healthPolicy({ graceMs: 600_000, reconcilePeriodMs: 120_000 }), {
      graceMs: 600_000,
      warmupMs: 300_000,
      maxObservationGapMs: 300_000,
      replacementRetryMs: 240_000,
      refreshMs: 120_000,
    });
  });

  test("refuses a grace period that does not cover two passes, or is not whole milliseconds", () => {
    assert.throws(() => healthPolicy({ graceMs: 90_000 }), InvalidHealthPolicyError);
    assert.throws(() => healthPolicy({ graceMs: 9_999, reconcilePeriodMs: 1000 }), InvalidHealthPolicyError);
    assert.equal(healthPolicy({ graceMs: 10_000, reconcilePeriodMs: 5000 }).graceMs, 10_000);
    assert.throws(() => healthPolicy({ warmupMs: -1 }), InvalidHealthPolicyError);
    assert.throws(() => healthPolicy({ graceMs: 180_000.5 }), /whole number/);
  });

  test("gauges count the silent voters and say whether the view had quorum", () => {
    assert.deepEqual(healthSignals(input(clusterWithDown(5, 2))), { silentVoters: 1, quorumView: true });
    assert.deepEqual(healthSignals(input(clusterWithDown(3, 2, 3))), { silentVoters: 2, quorumView: false });
    assert.deepEqual(healthSignals(input({ ...clusterWithDown(3), members: [] })), {
      silentVoters: 0,
      quorumView: false,
    });
  });
});
