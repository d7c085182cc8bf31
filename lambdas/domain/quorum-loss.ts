// Knowing that quorum is lost for good, from what the control plane can observe. One pass sees only
// an instant; durations come from what reconcile passes record in the ledger per member — when its
// etcd last answered a status call, and when it last answered naming a leader. The member-health
// sightings (sk = health#member#<instance ID>, `lastHealthyAt` and `lastSeenWithLeaderAt`) keep
// exactly that, so this decision reads them rather than keeping a second record.
//
// Quorum is lost for good when no member has had a leader for longer than the threshold while more
// voters than the cluster tolerates (a majority, for the odd sizes etcd-asg runs) have their
// instance gone from the group or their etcd silent for that long. A brief partition or a slow
// election ends before the threshold; a majority that is alive and answering elects a leader once its
// network heals, so it is never a loss.
import { faultTolerance } from "./quorum";
import type { Instance, NodeRecord } from "./snapshot";
import { isLive } from "./view";

/** @default how long leaderless and silent must last before quorum counts as lost for good */
export const DEFAULT_QUORUM_LOSS_THRESHOLD_MS = 5 * 60_000;

/** What the control plane has seen of one member of the current generation. Epoch milliseconds. */
export interface MemberSightings {
  readonly instanceId: string;
  /** Decimal string. */
  readonly memberId: string;
  readonly isLearner: boolean;
  /** Since when the control plane has known the member: absences are counted from here at most. */
  readonly knownSince: number;
  /** Its last answer to a status call, whatever it said. */
  readonly lastAnsweredAt: number | undefined;
  /** Its last answer that named a leader. */
  readonly lastLeaderAt: number | undefined;
}

/** The part of a member-health sighting this decision reads (domain/member-health.ts). */
export interface RecordedSighting {
  readonly instanceId: string;
  readonly memberId: string;
  readonly lastHealthyAt: number | undefined;
  readonly lastSeenWithLeaderAt: number | undefined;
}

/**
 * The members of the current generation as the ledger knows them, with their sightings. The ledger's
 * node records, not etcd's member list, say who the voters are: when quorum is lost for good the
 * list may be unreadable (every member gone). A node `joining` is a learner; `bootstrapping` (the
 * initial set) and `member` are voters. A node of the initial set has no member ID in the ledger
 * (MemberAdd never named it): its sighting is matched by instance alone. A sighting of another
 * member ID than the node's is an older member's. In a generation opened by recovery (`openedAt`),
 * a node whose phase last changed before it opened ran an older generation: not a voter of this one.
 */
export function sightedMembers(
  nodes: readonly NodeRecord[],
  sightings: readonly RecordedSighting[],
  openedAt?: number,
): MemberSightings[] {
  return nodes.flatMap((node): MemberSightings[] => {
    if (node.phase !== "member" && node.phase !== "joining" && node.phase !== "bootstrapping") return [];
    if (openedAt !== undefined && node.phaseSince < openedAt) return [];
    const sighting = sightings.find(
      (s) =>
        s.instanceId === node.instanceId && (node.memberId === undefined || s.memberId === node.memberId),
    );
    return [
      {
        instanceId: node.instanceId,
        memberId: node.memberId ?? sighting?.memberId ?? "",
        isLearner: node.phase === "joining",
        knownSince: node.phaseSince,
        lastAnsweredAt: sighting?.lastHealthyAt,
        lastLeaderAt: sighting?.lastSeenWithLeaderAt,
      },
    ];
  });
}

/** One status call of the pass that decides: the member of `instanceId` answered, naming a leader
 * or not. */
export interface PassObservation {
  readonly instanceId: string;
  readonly leaderKnown: boolean;
}

/**
 * The recorded sightings brought up to this pass: a member that answered now was seen now, and with
 * a leader now when it named one. What the ledger holds may lag a pass behind (or be missing, before
 * any pass recorded a sighting); an answer in hand is never older than it.
 */
export function withObservations(
  members: readonly MemberSightings[],
  observations: readonly PassObservation[],
  now: number,
): MemberSightings[] {
  return members.map((member) => {
    const seen = observations.find((o) => o.instanceId === member.instanceId);
    if (seen === undefined) return member;
    return {
      ...member,
      lastAnsweredAt: now,
      lastLeaderAt: seen.leaderKnown ? now : member.lastLeaderAt,
    };
  });
}

export interface QuorumLossInput {
  /** Epoch milliseconds, read by the caller. */
  readonly now: number;
  readonly thresholdMs: number;
  readonly members: readonly MemberSightings[];
  /** The Auto Scaling group's instances now. */
  readonly instances: readonly Instance[];
}

export type QuorumLossVerdict =
  | { readonly lost: false; readonly reason: string }
  | {
      readonly lost: true;
      /** Instance IDs of the voters counted as lost: instance gone, or etcd silent for the threshold. */
      readonly lostVoters: readonly string[];
      readonly reason: string;
    };

export function quorumLostForGood(input: QuorumLossInput): QuorumLossVerdict {
  const { now, thresholdMs, members } = input;
  const limit = `${seconds(thresholdMs)} s`;
  const voters = members.filter((m) => !m.isLearner);
  if (voters.length === 0) return { lost: false, reason: "the ledger knows no voter of this generation" };
  const longAgo = (time: number | undefined, member: MemberSightings) =>
    now - (time ?? member.knownSince) > thresholdMs;
  const withLeader = members.filter((m) => !longAgo(m.lastLeaderAt, m));
  if (withLeader.length > 0) {
    return { lost: false, reason: `${names(withLeader)} had a leader within the last ${limit}` };
  }
  const live = new Set(input.instances.filter(isLive).map((i) => i.id));
  const gone = voters.filter((v) => !live.has(v.instanceId));
  const silent = voters.filter((v) => live.has(v.instanceId) && longAgo(v.lastAnsweredAt, v));
  // Nobody answering while instances live may mean the control plane is the one cut off (its subnet,
  // a security group): then only instances gone from the group count.
  const anyAnswered = members.some((m) => !longAgo(m.lastAnsweredAt, m));
  const counted = anyAnswered ? [...gone, ...silent] : gone;
  const tolerated = faultTolerance(voters.length);
  const summary =
    `${gone.length} of ${voters.length} voters' instances gone, ${silent.length} silent for over ${limit}` +
    `: ${voters.length} voters tolerate ${tolerated}`;
  if (counted.length <= tolerated) {
    const caveat =
      !anyAnswered && silent.length > 0 ? " (no member answered at all, so silence is not counted)" : "";
    return { lost: false, reason: `no leader for over ${limit}, but ${summary}${caveat}` };
  }
  return {
    lost: true,
    lostVoters: counted.map((v) => v.instanceId),
    reason: `no member has had a leader for over ${limit} and ${summary}`,
  };
}

function names(members: readonly MemberSightings[]): string {
  return members.map((m) => m.instanceId).join(", ");
}

function seconds(ms: number): number {
  return (ms - (ms % 1000)) / 1000;
}
