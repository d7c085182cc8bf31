// Member health over time: which voter, if any, has its instance replaced through the group
// (SetInstanceHealth Unhealthy → terminate hook → launch) because its etcd stopped answering on a live
// instance, and what the ledger keeps about each member's health between reconcile passes.
//
// One pass sees an instant; the ledger's sightings turn passes into durations. A voter is replaced
// only when all of these hold:
// - its etcd has not answered (or has not started) in every pass for longer than the grace period,
//   counted from the first pass of the current streak, passes no further apart than
//   `maxObservationGapMs` (a control plane that stopped looking for a while does not know what
//   happened meanwhile: the streak starts over);
// - a new member's warm-up has passed: the streak counts from the end of the warm-up at the earliest;
// - its instance is InService and not already marked Unhealthy;
// - the control plane's own view has quorum: at least a quorum of the voters answered it and named a
//   leader. With less it cannot tell a dead member from its own partition (issue 17), so it replaces
//   nobody, and does not count the silence of the others towards their grace period either;
// - no voter that answered names it as their leader (a leader its peers follow is alive; only the
//   control plane's path to it is broken);
// - no replacement is under way: no instance Terminating or marked Unhealthy, no learner joining, and
//   the replacement recorded in the ledger has finished (its instance left the group);
// - removing its member keeps quorum of what is left and of the configured size.
// A member that is slow but answers within the status timeout answered: it is healthy.
//
// A pending launch does not hold a replacement back: with two dead voters, etcd adds no learner
// until the second is removed (strict reconfiguration), so waiting for the first replacement's
// successor to join would wait for ever.
import { quorum } from "./quorum";
import type { Instance, Member, NodePhase, Snapshot } from "./snapshot";
import { ClusterView, compareText, describeMember, isHealthy, isManagedName } from "./view";

export interface HealthPolicy {
  /** A voter whose etcd has not answered this long on an InService instance is replaced. @default 180_000 */
  readonly graceMs: number;
  /** A new member is not counted unhealthy until this long after its promotion (or start). @default 300_000 */
  readonly warmupMs: number;
  /** Passes further apart than this do not make one streak: the streak starts over. @default 150_000 */
  readonly maxObservationGapMs: number;
  /** A recorded replacement whose instance the group still shows InService and healthy after this
   * long is asked for again (the SetInstanceHealth call was lost). @default 120_000 */
  readonly replacementRetryMs: number;
  /** A sighting that changes nothing but times is rewritten at most this often. @default 60_000 */
  readonly refreshMs: number;
}

/** Issue 16's defaults: ECO's author advises 3 minutes after a 30 s TTL removed a restarting member. */
export const DEFAULT_HEALTH_POLICY: HealthPolicy = {
  graceMs: 180_000,
  warmupMs: 300_000,
  // Two and a half reconcile periods (1 min): one lost or late pass does not restart a streak.
  maxObservationGapMs: 150_000,
  replacementRetryMs: 120_000,
  refreshMs: 60_000,
};

export class InvalidHealthPolicyError extends Error {
  override readonly name = "InvalidHealthPolicyError";
}

export interface HealthPolicyInput {
  /** The construct's grace period. @default 180_000 */
  readonly graceMs?: number;
  /** A new member's warm-up. @default 300_000 */
  readonly warmupMs?: number;
  /** How often the reconciler runs (its schedule): the other intervals follow from it. @default 60_000 */
  readonly reconcilePeriodMs?: number;
}

/**
 * The policy for a grace period, a warm-up and the reconciler's schedule. The observation gap is two
 * and a half periods (one lost or late pass does not restart a streak; a shorter gap than one period
 * would restart every streak and nobody would ever be replaced), a retry waits two periods, and a
 * healthy member's record is refreshed once a period. The grace period must cover two passes, so a
 * streak is always seen twice before anyone is replaced.
 */
export function healthPolicy(input: HealthPolicyInput = {}): HealthPolicy {
  const period = wholeMs("reconcile period", input.reconcilePeriodMs ?? 60_000, 1000);
  // A floor against nonsense: the construct asks for 2 minutes (a restart by systemd, 5 s and etcd's
  // start, stays well inside it); the simulator compresses time below that.
  const graceMs = wholeMs("grace period", input.graceMs ?? DEFAULT_HEALTH_POLICY.graceMs, 10_000);
  if (graceMs < 2 * period) {
    throw new InvalidHealthPolicyError(
      `the grace period (${graceMs} ms) must cover two reconcile passes (${2 * period} ms): a member is replaced only after it was seen silent more than once`,
    );
  }
  const gap = period * 5;
  return {
    graceMs,
    warmupMs: wholeMs("warm-up", input.warmupMs ?? DEFAULT_HEALTH_POLICY.warmupMs, 0),
    maxObservationGapMs: (gap - (gap % 2)) / 2,
    replacementRetryMs: 2 * period,
    refreshMs: period,
  };
}

function wholeMs(what: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidHealthPolicyError(
      `the ${what} must be a whole number of milliseconds, at least ${min}; received ${value}`,
    );
  }
  return value;
}

/** What the ledger keeps about one member's health. Times are epoch milliseconds. */
export interface HealthSighting {
  /** The instance the member runs on: the record's key. */
  readonly instanceId: string;
  /** A record of another member ID (the instance's member was replaced, or a new generation) is stale. */
  readonly memberId: string;
  /** The pass this record was written from; an older pass never overwrites a newer one. */
  readonly observedAt: number;
  /** Start of the current streak of passes in which it did not answer; undefined while it answers. */
  readonly unhealthySince: number | undefined;
  /** The last pass of that streak. */
  readonly lastUnhealthyAt: number | undefined;
  /** Its last answer to a status call. */
  readonly lastHealthyAt: number | undefined;
  /** Its last answer that named a leader (the durability decision reads it: quorum lost for good). */
  readonly lastSeenWithLeaderAt: number | undefined;
}

/** The replacement the control plane started, until its instance has left the group. */
export interface ReplacementRecord {
  readonly instanceId: string;
  readonly memberId: string;
  /** When the first SetInstanceHealth was decided. */
  readonly since: number;
  readonly reason: string;
}

/** What one member's Maintenance.Status said about the leader; "0" when it knows none. */
export interface StatusReport {
  readonly memberId: string;
  readonly leaderId: string;
}

export interface MemberHealthInput {
  /** The reconcile pass's snapshot: `members[].healthy` is "answered a status call in this pass". */
  readonly snapshot: Snapshot;
  /** The status answers of this pass (the members that answered). */
  readonly reports: readonly StatusReport[];
  /** Instances the group's DescribeAutoScalingGroups shows with HealthStatus Unhealthy. */
  readonly markedUnhealthy: readonly string[];
  readonly sightings: readonly HealthSighting[];
  readonly replacement: ReplacementRecord | undefined;
  readonly policy: HealthPolicy;
}

export type SightingChange =
  /** Write the record, unless the ledger holds one from a later pass. */
  | { readonly kind: "put"; readonly sighting: HealthSighting }
  /** The member is no longer in etcd's list: drop its record (unless a later pass wrote it). */
  | { readonly kind: "forget"; readonly instanceId: string; readonly observedAt: number };

export type HealthDecision =
  /**
   * Record `replacement` with a conditional write (it wins only where the ledger holds no other
   * in-flight replacement), then set the instance Unhealthy. `retry` repeats a recorded one.
   */
  | {
      readonly kind: "replace";
      readonly instanceId: string;
      readonly member: Member;
      readonly replacement: ReplacementRecord;
      readonly retry: boolean;
      readonly sightings: readonly SightingChange[];
      /** A finished replacement to clear before this one is recorded. */
      readonly finished: ReplacementRecord | undefined;
      readonly reason: string;
    }
  /** Ledger changes only; `reason` says why nobody is replaced. */
  | {
      readonly kind: "record";
      readonly sightings: readonly SightingChange[];
      /** The recorded replacement is over (or called off): clear it. */
      readonly finished: ReplacementRecord | undefined;
      readonly reason: string;
    }
  | { readonly kind: "nothing"; readonly reason: string };

/** Node phases in which the node runs etcd: its phase clock is the member's warm-up anchor. */
const RUNS_ETCD: readonly NodePhase[] = ["bootstrapping", "joining", "member"];

export function decideMemberHealth(input: MemberHealthInput): HealthDecision {
  const { snapshot } = input;
  if (snapshot.ledger.cluster === undefined) return { kind: "nothing", reason: "no cluster yet" };
  if (snapshot.members.length === 0) {
    // Records stay as they are: "last seen with a leader" must outlive an outage of every member.
    return { kind: "nothing", reason: "no etcd member answered; health cannot be read" };
  }
  const view = new ClusterView(snapshot);
  const observation = observe(view, input);
  const sightings = sightingChanges(view, input, observation);
  const next = (instanceId: string) => nextSighting(sightings, input.sightings, instanceId);
  const { finished, busy, retry } = replacementState(view, input, observation);
  const recordOnly = (reason: string): HealthDecision =>
    sightings.length === 0 && finished === undefined
      ? { kind: "nothing", reason }
      : { kind: "record", sightings, finished, reason };

  if (!observation.quorumView) {
    return recordOnly(
      `the control plane reaches ${observation.withLeader} of ${view.voters.length} voters with a leader ` +
        `(quorum ${quorum(view.voters.length)}): it cannot tell a dead member from its own partition, so it replaces nobody`,
    );
  }
  const due = dueVoters(view, input, observation, next);
  if (retry !== undefined) {
    const target = due.find((c) => c.instanceId === retry.instanceId);
    if (target === undefined || !view.removalKeepsQuorum(target.member)) {
      return recordOnly(busy ?? `replacement of ${retry.instanceId} in flight`);
    }
    return replace(view, target, sightings, undefined, retry, true);
  }
  if (busy !== undefined) return recordOnly(busy);
  if (due.length === 0) return recordOnly(healthSummary(view, input, next));
  const target = due.find((c) => view.removalKeepsQuorum(c.member));
  if (target === undefined) {
    const first = due[0] as Candidate;
    const after = view.afterRemoval(first.member);
    return recordOnly(
      `${describeMember(first.member)} has not answered for ${first.silentMs} ms, but removing it would leave ` +
        `${after.healthy} healthy voter(s) where quorum needs ${quorum(after.voters)} and the configured size needs ${view.floor}: not replaced`,
    );
  }
  const replacement: ReplacementRecord = {
    instanceId: target.instanceId,
    memberId: target.member.id,
    since: snapshot.now,
    reason: target.reason,
  };
  return replace(view, target, sightings, finished, replacement, false);
}

/** Gauges for a pass, published whatever the decision: voters silent now, and whether the
 * control plane's view had quorum (1) or not (0: it replaced nobody). */
export function healthSignals(input: MemberHealthInput): { silentVoters: number; quorumView: boolean } {
  if (input.snapshot.members.length === 0) return { silentVoters: 0, quorumView: false };
  const view = new ClusterView(input.snapshot);
  return {
    silentVoters: view.voters.filter((m) => !isHealthy(m)).length,
    quorumView: observe(view, input).quorumView,
  };
}

interface Observation {
  /** Voters that answered this pass and named a leader. */
  readonly withLeader: number;
  readonly quorumView: boolean;
  /** Member IDs that some voter which answered names as its leader. */
  readonly namedLeaders: ReadonlySet<string>;
  readonly leaderOf: ReadonlyMap<string, string>;
}

function observe(view: ClusterView, input: MemberHealthInput): Observation {
  const answered = new Set(view.snapshot.members.filter(isHealthy).map((m) => m.id));
  // A report from a member the member list does not show as answering is ignored: one sample decides.
  const leaderOf = new Map(
    input.reports.filter((r) => answered.has(r.memberId)).map((r) => [r.memberId, r.leaderId] as const),
  );
  const knowsLeader = (m: Member) => (leaderOf.get(m.id) ?? "0") !== "0";
  const withLeader = view.voters.filter((m) => isHealthy(m) && knowsLeader(m)).length;
  const namedLeaders = new Set(
    view.voters.flatMap((m) => {
      const leader = leaderOf.get(m.id);
      return leader === undefined || leader === "0" ? [] : [leader];
    }),
  );
  return {
    withLeader,
    quorumView: view.voters.length > 0 && withLeader >= quorum(view.voters.length),
    namedLeaders,
    leaderOf,
  };
}

/** The instance a member's sighting is kept under: managed members only. */
function keyOf(view: ClusterView, member: Member): string | undefined {
  const owner = view.ownerOf(member);
  return owner !== undefined && isManagedName(owner) ? owner : undefined;
}

function sightingChanges(view: ClusterView, input: MemberHealthInput, obs: Observation): SightingChange[] {
  const { now } = view.snapshot;
  const { policy } = input;
  const changes: SightingChange[] = [];
  const kept = new Set<string>();
  for (const member of view.snapshot.members) {
    const instanceId = keyOf(view, member);
    if (instanceId === undefined) continue;
    kept.add(instanceId);
    const stored = input.sightings.find((s) => s.instanceId === instanceId);
    const prev = stored?.memberId === member.id ? stored : undefined;
    const base = {
      instanceId,
      memberId: member.id,
      observedAt: now,
      lastHealthyAt: prev?.lastHealthyAt,
      lastSeenWithLeaderAt: prev?.lastSeenWithLeaderAt,
    };
    const stale = prev === undefined || now - prev.observedAt >= policy.refreshMs;
    if (isHealthy(member)) {
      const withLeader = (obs.leaderOf.get(member.id) ?? "0") !== "0";
      if (!stale && prev.unhealthySince === undefined) continue;
      changes.push({
        kind: "put",
        sighting: {
          ...base,
          unhealthySince: undefined,
          lastUnhealthyAt: undefined,
          lastHealthyAt: now,
          lastSeenWithLeaderAt: withLeader ? now : prev?.lastSeenWithLeaderAt,
        },
      });
    } else if (obs.namedLeaders.has(member.id)) {
      // Its peers follow it: it is alive, only unreachable from here. No streak, no answer either.
      if (!stale && prev.unhealthySince === undefined) continue;
      changes.push({
        kind: "put",
        sighting: { ...base, unhealthySince: undefined, lastUnhealthyAt: undefined },
      });
    } else if (obs.quorumView) {
      const continues =
        prev?.unhealthySince !== undefined &&
        prev.lastUnhealthyAt !== undefined &&
        now - prev.lastUnhealthyAt <= policy.maxObservationGapMs;
      changes.push({
        kind: "put",
        sighting: {
          ...base,
          unhealthySince: continues ? prev.unhealthySince : now,
          lastUnhealthyAt: now,
        },
      });
    }
    // Without a quorum view a silence is not evidence: nothing is written, and the streak's last pass
    // ages until it no longer continues.
  }
  for (const sighting of input.sightings) {
    if (!kept.has(sighting.instanceId)) {
      changes.push({ kind: "forget", instanceId: sighting.instanceId, observedAt: now });
    }
  }
  return changes;
}

/** The sighting as it is after this pass: the change written, or the stored one of the same member. */
function nextSighting(
  changes: readonly SightingChange[],
  stored: readonly HealthSighting[],
  instanceId: string,
): HealthSighting | undefined {
  for (const change of changes) {
    if (change.kind === "put" && change.sighting.instanceId === instanceId) return change.sighting;
    if (change.kind === "forget" && change.instanceId === instanceId) return undefined;
  }
  return stored.find((s) => s.instanceId === instanceId);
}

interface ReplacementState {
  /** The recorded replacement is over or called off: clear it. */
  readonly finished: ReplacementRecord | undefined;
  /** Why no new replacement may start now, when one may not. */
  readonly busy: string | undefined;
  /** The recorded replacement whose SetInstanceHealth must be asked for again. */
  readonly retry: ReplacementRecord | undefined;
}

function replacementState(view: ClusterView, input: MemberHealthInput, obs: Observation): ReplacementState {
  const { now, instances } = view.snapshot;
  const recorded = input.replacement;
  const marked = new Set(input.markedUnhealthy);
  let finished: ReplacementRecord | undefined;
  let retry: ReplacementRecord | undefined;
  let busy: string | undefined;
  if (recorded !== undefined) {
    const instance = view.instance(recorded.instanceId);
    const member = view.snapshot.members.find((m) => m.id === recorded.memberId);
    if (instance === undefined || instance.lifecycleState === "Terminated") {
      finished = recorded;
    } else if (isLeaving(instance)) {
      busy = `replacement of ${recorded.instanceId} under way: it is ${instance.lifecycleState}`;
    } else if (instance.lifecycleState !== "InService") {
      finished = recorded;
    } else if (marked.has(recorded.instanceId)) {
      busy = `replacement of ${recorded.instanceId} under way: the group shows it Unhealthy`;
    } else if (member === undefined || isHealthy(member) || obs.namedLeaders.has(member.id)) {
      // It answers again (or its member is gone) and the group never took the request: called off.
      finished = recorded;
    } else if (now - recorded.since < input.policy.replacementRetryMs) {
      busy = `replacement of ${recorded.instanceId} requested ${now - recorded.since} ms ago; waiting for the group`;
    } else {
      retry = recorded;
      busy = `replacement of ${recorded.instanceId} was requested ${now - recorded.since} ms ago and the group still shows it healthy`;
    }
  }
  // Another instance leaving, or a join under way, holds a retry of the recorded one as well.
  const leaving = instances.find((i) => i.id !== retry?.instanceId && (isLeaving(i) || marked.has(i.id)));
  const learner = view.learners[0];
  const other =
    leaving !== undefined
      ? `${leaving.id} is ${isLeaving(leaving) ? leaving.lifecycleState : "marked Unhealthy"}; one replacement at a time`
      : learner !== undefined
        ? `learner ${describeMember(learner)} is joining; one membership change at a time`
        : undefined;
  if (other !== undefined && retry !== undefined) return { finished, busy: other, retry: undefined };
  return { finished, busy: busy ?? other, retry };
}

function isLeaving(instance: Instance): boolean {
  return instance.lifecycleState.startsWith("Terminating");
}

interface Candidate {
  readonly instanceId: string;
  readonly member: Member;
  /** Start of the silence that counts (the streak, or the end of the warm-up if later). */
  readonly countedFrom: number;
  readonly silentMs: number;
  readonly reason: string;
}

/** Voters past their grace period, the longest silent first, then by instance ID. */
function dueVoters(
  view: ClusterView,
  input: MemberHealthInput,
  obs: Observation,
  next: (instanceId: string) => HealthSighting | undefined,
): Candidate[] {
  const { now } = view.snapshot;
  const { graceMs, warmupMs } = input.policy;
  const marked = new Set(input.markedUnhealthy);
  return view.voters
    .flatMap((member): Candidate[] => {
      const instanceId = keyOf(view, member);
      if (instanceId === undefined || isHealthy(member) || obs.namedLeaders.has(member.id)) return [];
      const instance = view.instance(instanceId);
      if (instance?.lifecycleState !== "InService" || marked.has(instanceId)) return [];
      const sighting = next(instanceId);
      if (sighting?.memberId !== member.id || sighting.unhealthySince === undefined) return [];
      const warmEnd = warmupAnchor(view, instance) + warmupMs;
      const countedFrom = sighting.unhealthySince > warmEnd ? sighting.unhealthySince : warmEnd;
      const silentMs = now - countedFrom;
      if (silentMs <= graceMs) return [];
      const what = member.started ? "has not answered" : "has not started";
      return [
        {
          instanceId,
          member,
          countedFrom,
          silentMs,
          reason:
            `${describeMember(member)} on InService ${instanceId} ${what} since ${sighting.unhealthySince} ` +
            `(${silentMs} ms counted, grace ${graceMs} ms): its instance is replaced through the group`,
        },
      ];
    })
    .sort((a, b) => a.countedFrom - b.countedFrom || compareText(a.instanceId, b.instanceId));
}

/** When the member's warm-up starts: its node's phase clock while it runs etcd (promotion, ready or
 * publication), else its instance's launch. */
function warmupAnchor(view: ClusterView, instance: Instance): number {
  const node = view.node(instance.id);
  if (node !== undefined && RUNS_ETCD.includes(node.phase)) return node.phaseSince;
  return instance.launchTime;
}

function replace(
  view: ClusterView,
  target: Candidate,
  sightings: readonly SightingChange[],
  finished: ReplacementRecord | undefined,
  replacement: ReplacementRecord,
  retry: boolean,
): HealthDecision {
  return {
    kind: "replace",
    instanceId: target.instanceId,
    member: target.member,
    replacement,
    retry,
    sightings,
    finished,
    reason: retry
      ? `${target.reason} (asked again: the group has not taken the first request)`
      : `${target.reason}; ${view.healthyVoters} of ${view.voters.length} voters answer`,
  };
}

function healthSummary(
  view: ClusterView,
  input: MemberHealthInput,
  next: (instanceId: string) => HealthSighting | undefined,
): string {
  const silent = view.voters.filter((m) => !isHealthy(m));
  if (silent.length === 0) return `all ${view.voters.length} voters answer`;
  const parts = silent.map((m) => {
    const instanceId = keyOf(view, m);
    const since = instanceId === undefined ? undefined : next(instanceId)?.unhealthySince;
    return since === undefined
      ? `${describeMember(m)} (not counted)`
      : `${describeMember(m)} (silent ${view.snapshot.now - since} ms of ${input.policy.graceMs} ms grace, after warm-up)`;
  });
  return `within grace: ${parts.join(", ")}`;
}
