// Properties of the health decision over random states, and over random histories: reconcile passes
// a minute apart (with jitter and lost passes), members that fail and heal, control-plane partitions,
// and a group that takes each replacement through Unhealthy, Terminating:Wait and a new instance.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  DEFAULT_HEALTH_POLICY,
  decideMemberHealth,
  type HealthDecision,
  type HealthSighting,
  type MemberHealthInput,
  type ReplacementRecord,
  type StatusReport,
} from "../../../lambdas/domain/member-health";
import { quorum } from "../../../lambdas/domain/quorum";
import type { Instance, Member, NodeRecord, Snapshot } from "../../../lambdas/domain/snapshot";
import { cluster, instanceId, ipOf, NOW, policy, range } from "../../helpers/snapshots";

const { graceMs, warmupMs, maxObservationGapMs } = DEFAULT_HEALTH_POLICY;
const MINUTE = 60_000;
const id = (n: number) => String(1000 + n);

function weighted<const T>(...choices: readonly (readonly [number, T])[]): fc.Arbitrary<T> {
  return fc.oneof(...choices.map(([weight, value]) => ({ weight, arbitrary: fc.constant(value) })));
}

interface VoterSlot {
  readonly answered: boolean;
  readonly report: "leader" | "none" | "missing";
  readonly state: string;
  readonly marked: boolean;
  readonly started: boolean;
  readonly phaseAge: number;
  readonly sighting: "none" | "silent" | "answering" | "other-member";
  readonly silentFor: number;
  readonly lastSeenAgo: number;
}

const voterSlot: fc.Arbitrary<VoterSlot> = fc.record({
  answered: weighted([7, true], [3, false]),
  report: weighted([16, "leader"], [1, "none"], [1, "missing"]),
  state: weighted([30, "InService"], [1, "Terminating:Wait"], [1, "Standby"], [1, "Pending:Wait"]),
  marked: weighted([40, false], [1, true]),
  started: weighted([9, true], [1, false]),
  phaseAge: fc.integer({ min: 0, max: 3_600_000 }),
  sighting: weighted([2, "none"], [6, "silent"], [2, "answering"], [1, "other-member"]),
  silentFor: fc.integer({ min: 0, max: 900_000 }),
  lastSeenAgo: fc.integer({ min: 0, max: 200_000 }),
});

const healthInputArb: fc.Arbitrary<MemberHealthInput> = fc
  .record({
    size: fc.constantFrom(3, 5, 7),
    extra: fc.integer({ min: -1, max: 1 }),
    slots: fc.array(voterSlot, { minLength: 8, maxLength: 8 }),
    leader: fc.nat(),
    learner: weighted([12, false], [1, true]),
    replacement: weighted([6, "none"], [1, "voter"], [1, "gone"]),
    replacementSlot: fc.nat(),
    replacementAge: fc.integer({ min: 0, max: 600_000 }),
  })
  .map((r) => {
    const voters = r.size + r.extra;
    const ns = range(1, voters);
    const slotOf = (n: number) => r.slots[n - 1] as VoterSlot;
    const instances: Instance[] = ns.map((n) => ({
      id: instanceId(n),
      lifecycleState: slotOf(n).state,
      privateIp: ipOf(n),
      launchTime: NOW - 7_200_000,
    }));
    const members: Member[] = ns.map((n) => ({
      id: id(n),
      name: slotOf(n).started ? instanceId(n) : "",
      peerUrls: [`http://${ipOf(n)}:2380`],
      clientUrls: slotOf(n).started ? [`http://${ipOf(n)}:2379`] : [],
      isLearner: false,
      started: slotOf(n).started,
      healthy: slotOf(n).started && slotOf(n).answered,
    }));
    if (r.learner) {
      instances.push({
        id: instanceId(9),
        lifecycleState: "Pending:Wait",
        privateIp: ipOf(9),
        launchTime: NOW,
      });
      members.push({ ...(members[0] as Member), id: id(9), name: instanceId(9), isLearner: true });
    }
    const nodes: NodeRecord[] = ns.map((n) => ({
      instanceId: instanceId(n),
      privateIp: ipOf(n),
      registration: n,
      memberId: id(n),
      phase: "member",
      phaseSince: NOW - slotOf(n).phaseAge,
    }));
    const leader = id((r.leader % voters) + 1);
    const reports: StatusReport[] = ns.flatMap((n) => {
      const slot = slotOf(n);
      if (!slot.started || !slot.answered || slot.report === "missing") return [];
      return [{ memberId: id(n), leaderId: slot.report === "leader" ? leader : "0" }];
    });
    const sightings: HealthSighting[] = ns.flatMap((n): HealthSighting[] => {
      const slot = slotOf(n);
      if (slot.sighting === "none") return [];
      const silentNow = slot.sighting === "silent" || slot.sighting === "other-member";
      return [
        {
          instanceId: instanceId(n),
          memberId: slot.sighting === "other-member" ? "4242" : id(n),
          observedAt: NOW - slot.lastSeenAgo,
          unhealthySince: silentNow ? NOW - slot.silentFor - slot.lastSeenAgo : undefined,
          lastUnhealthyAt: silentNow ? NOW - slot.lastSeenAgo : undefined,
          lastHealthyAt: undefined,
          lastSeenWithLeaderAt: undefined,
        },
      ];
    });
    const target = (r.replacementSlot % voters) + 1;
    const replacement: ReplacementRecord | undefined =
      r.replacement === "none"
        ? undefined
        : {
            instanceId: r.replacement === "gone" ? instanceId(12) : instanceId(target),
            memberId: r.replacement === "gone" ? id(12) : id(target),
            since: NOW - r.replacementAge,
            reason: "earlier",
          };
    const snapshot: Snapshot = {
      policy: policy(r.size),
      subject: { event: "reconcile" },
      instances,
      members,
      ledger: { cluster: cluster(range(1, r.size)), nodes, lock: undefined },
      now: NOW,
      actor: "property",
      proposedToken: "t",
    };
    const markedUnhealthy = ns.filter((n) => slotOf(n).marked).map(instanceId);
    return { snapshot, reports, markedUnhealthy, sightings, replacement, policy: DEFAULT_HEALTH_POLICY };
  });

const RUNS = { numRuns: 5_000 };

/** Voters that answered and named a leader, as the decision must count them. */
function quorumView(input: MemberHealthInput): boolean {
  const voters = input.snapshot.members.filter((m) => !m.isLearner);
  const withLeader = voters.filter(
    (m) => m.started && m.healthy && input.reports.some((r) => r.memberId === m.id && r.leaderId !== "0"),
  );
  return withLeader.length >= quorum(voters.length);
}

describe("member health properties (random states)", () => {
  test("never replaces with a minority view, and counts no silence from one", () => {
    fc.assert(
      fc.property(healthInputArb, (input) => {
        if (quorumView(input)) return;
        const d = decideMemberHealth(input);
        assert.notEqual(d.kind, "replace", "replaced with a minority view");
        for (const change of d.kind === "nothing" ? [] : d.sightings) {
          if (change.kind === "put") assert.notEqual(change.sighting.lastUnhealthyAt, NOW);
        }
      }),
      RUNS,
    );
  });

  test("never replaces below quorum: what is left keeps quorum of itself and of the configured size", () => {
    fc.assert(
      fc.property(healthInputArb, (input) => {
        const d = decideMemberHealth(input);
        if (d.kind !== "replace") return;
        const voters = input.snapshot.members.filter((m) => !m.isLearner);
        const left = voters.filter((m) => m.id !== d.member.id);
        const healthy = left.filter((m) => m.started && m.healthy).length;
        assert.ok(healthy >= quorum(left.length), d.reason);
        assert.ok(healthy >= quorum(input.snapshot.policy.clusterSize), d.reason);
      }),
      RUNS,
    );
  });

  test("replaces one silent voter of an InService instance, only when no other replacement is under way", () => {
    fc.assert(
      fc.property(healthInputArb, (input) => {
        const d = decideMemberHealth(input);
        if (d.kind !== "replace") return;
        const { snapshot } = input;
        const target = snapshot.instances.find((i) => i.id === d.instanceId);
        assert.equal(target?.lifecycleState, "InService");
        assert.ok(!input.markedUnhealthy.includes(d.instanceId));
        assert.ok(!(d.member.started && d.member.healthy), "replaced a member that answered");
        assert.ok(!d.member.isLearner);
        assert.ok(
          !input.reports.some((r) => r.leaderId === d.member.id),
          "replaced the leader its peers follow",
        );
        assert.ok(!snapshot.members.some((m) => m.isLearner));
        for (const other of snapshot.instances) {
          if (other.id === d.instanceId) continue;
          assert.ok(!other.lifecycleState.startsWith("Terminating"));
          assert.ok(!input.markedUnhealthy.includes(other.id));
        }
        const recorded = input.replacement;
        if (recorded !== undefined && d.finished === undefined) {
          assert.equal(recorded.instanceId, d.instanceId, "a second replacement while one is in flight");
          assert.ok(d.retry);
        }
      }),
      RUNS,
    );
  });

  test("respects the grace period and the warm-up", () => {
    fc.assert(
      fc.property(healthInputArb, (input) => {
        const d = decideMemberHealth(input);
        if (d.kind !== "replace") return;
        const put = d.sightings.find((c) => c.kind === "put" && c.sighting.instanceId === d.instanceId);
        assert.ok(put?.kind === "put" && put.sighting.unhealthySince !== undefined);
        const since = put.sighting.unhealthySince;
        const nodeSince =
          input.snapshot.ledger.nodes.find((n) => n.instanceId === d.instanceId)?.phaseSince ?? 0;
        assert.ok(NOW - since > graceMs, `silent ${NOW - since} ms only`);
        assert.ok(NOW - (nodeSince + warmupMs) > graceMs, "replaced during its warm-up and grace");
      }),
      RUNS,
    );
  });
});

// --- Histories -------------------------------------------------------------------------------------

interface History {
  readonly size: number;
  /** Per pass: the delay since the previous one, ms (a lost pass shows as a long one). */
  readonly gaps: readonly number[];
  /** Per pass and member slot: does its etcd answer (if the control plane can reach it)? */
  readonly up: readonly (readonly boolean[])[];
  /** Per pass: the slots the control plane reaches (its own partition), as a bit mask; -1 all. */
  readonly reach: readonly number[];
}

const historyArb: fc.Arbitrary<History> = fc.integer({ min: 0, max: 2 }).chain((sizeIndex) => {
  const size = [3, 5, 7][sizeIndex] as number;
  const passes = 40;
  // Runs of up/down: each slot flips with a small probability per pass, so outages last several passes.
  const column = fc
    .record({
      start: weighted([4, true], [1, false]),
      flips: fc.array(weighted([7, false], [1, true]), { minLength: passes, maxLength: passes }),
    })
    .map(({ start, flips }) => {
      let state = start;
      return flips.map((flip) => {
        if (flip) state = !state;
        return state;
      });
    });
  return fc.record({
    size: fc.constant(size),
    gaps: fc.array(
      fc.oneof(
        { weight: 12, arbitrary: fc.integer({ min: 50_000, max: 70_000 }) },
        { weight: 1, arbitrary: fc.integer({ min: 120_000, max: 400_000 }) },
      ),
      { minLength: passes, maxLength: passes },
    ),
    up: fc
      .array(column, { minLength: size + 4, maxLength: size + 4 })
      .map((columns) => range(0, passes - 1).map((p) => columns.map((c) => c[p] as boolean))),
    reach: fc.array(
      fc.oneof({ weight: 6, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat({ max: 127 }) }),
      { minLength: passes, maxLength: passes },
    ),
  });
});

interface SimNode {
  readonly n: number;
  state: string;
  marked: boolean;
  /** Passes left before the group moves it on (Unhealthy → Terminating:Wait → gone). */
  wait: number;
  readonly since: number;
}

/**
 * Runs the decision pass after pass on a simulated group: a replaced instance is marked Unhealthy,
 * terminates over the next passes (its member removed), and a new instance joins in its place.
 * Returns the violations (none when every property held) and the members replaced, in order.
 */
function simulate(history: History): { violations: string[]; replaced: number[] } {
  const violations: string[] = [];
  const replaced: number[] = [];
  const p = policy(history.size);
  let now = NOW;
  let nodes: SimNode[] = range(1, history.size).map((n) => ({
    n,
    state: "InService",
    marked: false,
    wait: 0,
    since: now - 3_600_000,
  }));
  let nextN = history.size + 1;
  let sightings: HealthSighting[] = [];
  let replacement: ReplacementRecord | undefined;
  /** Per slot: the passes at which the control plane saw it answer. */
  const answeredAt = new Map<number, number[]>();
  let inFlight: number | undefined;

  for (let pass = 0; pass < history.gaps.length; pass++) {
    now += history.gaps[pass] as number;
    const reachMask = history.reach[pass] as number;
    const row = history.up[pass] as readonly boolean[];
    const reaches = (n: number) => reachMask === -1 || ((reachMask >> (n % 7)) & 1) === 1;
    // Group moves: Unhealthy → Terminating:Wait → gone, then a new instance joins healthy.
    for (const node of nodes) {
      if (node.marked && node.state === "InService") {
        node.state = "Terminating:Wait";
        node.wait = 1;
      } else if (node.state === "Terminating:Wait" && node.wait-- <= 0) {
        node.state = "Terminated";
      }
    }
    const terminated = nodes.filter((node) => node.state === "Terminated");
    nodes = nodes.filter((node) => node.state !== "Terminated");
    for (const _ of terminated) {
      nodes.push({ n: nextN++, state: "InService", marked: false, wait: 0, since: now });
    }
    if (inFlight !== undefined && !nodes.some((node) => node.n === inFlight)) inFlight = undefined;

    const members: Member[] = nodes.map((node) => {
      const answers = (row[node.n % row.length] as boolean) && reaches(node.n);
      return {
        id: id(node.n),
        name: instanceId(node.n),
        peerUrls: [`http://${ipOf(node.n)}:2380`],
        clientUrls: [`http://${ipOf(node.n)}:2379`],
        isLearner: false,
        started: true,
        healthy: answers,
      };
    });
    for (const m of members) {
      if (m.healthy)
        answeredAt.set(Number(m.id) - 1000, [...(answeredAt.get(Number(m.id) - 1000) ?? []), now]);
    }
    const leader = members.find((m) => m.healthy);
    const reports: StatusReport[] = members
      .filter((m) => m.healthy)
      .map((m) => ({ memberId: m.id, leaderId: leader?.id ?? "0" }));
    const snapshot: Snapshot = {
      policy: p,
      subject: { event: "reconcile" },
      instances: nodes.map((node) => ({
        id: instanceId(node.n),
        lifecycleState: node.state,
        privateIp: ipOf(node.n),
        launchTime: node.since,
      })),
      members,
      ledger: {
        cluster: cluster(range(1, history.size)),
        nodes: nodes.map((node) => ({
          instanceId: instanceId(node.n),
          privateIp: ipOf(node.n),
          registration: node.n,
          memberId: id(node.n),
          phase: "member" as const,
          phaseSince: node.since,
        })),
        lock: undefined,
      },
      now,
      actor: "sim",
      proposedToken: "t",
    };
    const input: MemberHealthInput = {
      snapshot,
      reports,
      markedUnhealthy: nodes.filter((node) => node.marked).map((node) => instanceId(node.n)),
      sightings,
      replacement,
      policy: DEFAULT_HEALTH_POLICY,
    };
    const d: HealthDecision = decideMemberHealth(input);
    if (d.kind !== "nothing") {
      for (const change of d.sightings) {
        sightings = sightings.filter(
          (s) => s.instanceId !== (change.kind === "put" ? change.sighting.instanceId : change.instanceId),
        );
        if (change.kind === "put") sightings.push(change.sighting);
      }
      if (d.finished !== undefined && replacement === d.finished) replacement = undefined;
    }
    if (d.kind !== "replace") continue;
    const n = Number(d.member.id) - 1000;
    if (!quorumView(input)) violations.push(`pass ${pass}: replaced ${n} with a minority view`);
    if (inFlight !== undefined && inFlight !== n) {
      violations.push(`pass ${pass}: replaced ${n} while the replacement of ${inFlight} is in flight`);
    }
    // Healed within the grace period: seen answering by a pass in the last grace period.
    const healed = (answeredAt.get(n) ?? []).filter((t) => t > now - graceMs);
    if (healed.length > 0)
      violations.push(`pass ${pass}: replaced ${n}, which answered ${now - (healed[0] as number)} ms ago`);
    const node = nodes.find((candidate) => candidate.n === n);
    if (node === undefined) throw new Error(`replaced unknown ${n}`);
    if (now - (node.since + warmupMs) <= graceMs)
      violations.push(`pass ${pass}: replaced ${n} in its warm-up`);
    node.marked = true;
    inFlight = n;
    replacement = d.replacement;
    replaced.push(n);
  }
  return { violations, replaced };
}

describe("member health properties (histories)", () => {
  test("over random histories: no minority-view replacement, one at a time, none healed within grace", () => {
    let histories = 0;
    let withReplacement = 0;
    fc.assert(
      fc.property(historyArb, (history) => {
        const { violations, replaced } = simulate(history);
        assert.deepEqual(violations, []);
        histories += 1;
        if (replaced.length > 0) withReplacement += 1;
      }),
      { numRuns: 1_000 },
    );
    // Not vacuous: a good share of the histories do replace someone.
    assert.ok(
      withReplacement * 10 >= histories,
      `${withReplacement} of ${histories} histories replaced anyone`,
    );
  });

  test("a member down for good is replaced once, after the grace period, and its successor is left alone", () => {
    const passes = 12;
    const history: History = {
      size: 3,
      gaps: range(1, passes).map(() => MINUTE),
      // Slot 2 (instance 2) never answers; every other slot, including its successor's, does.
      up: range(1, passes).map(() => [true, true, false, true, true, true, true]),
      reach: range(1, passes).map(() => -1),
    };
    const { violations, replaced } = simulate(history);
    assert.deepEqual(violations, []);
    assert.deepEqual(replaced, [2]);
    assert.ok(maxObservationGapMs > MINUTE);
  });
});
