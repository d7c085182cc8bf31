// When to take an etcd snapshot and which member to stream it from. A snapshot is taken on the
// schedule, on an operator's demand, and before a membership removal when the last one is older
// than the interval (a removal is when a mistake would cost the most). It is streamed from a healthy
// voter that knows a leader, a follower rather than the leader (the stream reads the whole database
// and sends it over the network: the leader has the whole cluster's traffic to serve), never a
// learner (it may lag, and etcd refuses learners most RPCs).
import type { SnapshotRecord } from "./durability";
import { compareDecimal } from "./durability";
import { compareText } from "./view";

/** @default the snapshot interval when the construct sets none */
export const DEFAULT_SNAPSHOT_INTERVAL_MS = 30 * 60_000;

export const SNAPSHOT_TRIGGERS = ["schedule", "before-removal", "on-demand"] as const;
export type SnapshotTrigger = (typeof SNAPSHOT_TRIGGERS)[number];

/** One member as a status call to its own client URL showed it in this pass. */
export interface SnapshotCandidate {
  /** Decimal string. */
  readonly memberId: string;
  /** The instance ID it was started with; empty if it never started. */
  readonly name: string;
  readonly clientUrl: string;
  readonly isLearner: boolean;
  /** Its status call answered in this pass; the fields below are meaningless when it did not. */
  readonly answered: boolean;
  /** The leader it reports, "0" while it knows none. */
  readonly leaderId: string;
  /** Decimal string: how far it has applied the raft log. */
  readonly raftAppliedIndex: string;
  /** Alarms and errors it reports, e.g. "NOSPACE", "CORRUPT". */
  readonly errors: readonly string[];
}

export interface SnapshotDueInput {
  readonly trigger: SnapshotTrigger;
  /** Epoch milliseconds, read by the caller. */
  readonly now: number;
  readonly intervalMs: number;
  /** The generation the ledger's cluster record is in now. */
  readonly generation: number;
  /** The ledger's latest snapshot record, if any. */
  readonly latest: Pick<SnapshotRecord, "takenAt" | "generation"> | undefined;
  /** The current generation's members, each with its own status answer. */
  readonly candidates: readonly SnapshotCandidate[];
}

export type SnapshotVerdict =
  /** Nothing to do now. */
  | { readonly kind: "skip"; readonly reason: string }
  /** Stream a snapshot from `source`. */
  | { readonly kind: "take"; readonly source: SnapshotCandidate; readonly reason: string }
  /** A snapshot is due but no member can serve one: an alarm, not a silent skip. */
  | { readonly kind: "no-source"; readonly reason: string };

export function snapshotDue(input: SnapshotDueInput): SnapshotVerdict {
  const why = dueBecause(input);
  if (why === undefined) {
    return { kind: "skip", reason: `the latest snapshot is ${describeAge(input)}; ${input.trigger} waits` };
  }
  const source = snapshotSource(input.candidates);
  if (source === undefined) {
    return {
      kind: "no-source",
      reason: `${why}, but no voter answered with a leader and without a corruption alarm`,
    };
  }
  const role = source.memberId === source.leaderId ? "the leader (no follower could serve)" : "a follower";
  return {
    kind: "take",
    source,
    reason: `${why}; streaming from ${source.name || source.memberId}, ${role}`,
  };
}

/** Why a snapshot is due, or undefined when it is not. */
function dueBecause(input: SnapshotDueInput): string | undefined {
  const { trigger, now, intervalMs, latest } = input;
  if (trigger === "on-demand") return "an operator asked for a snapshot";
  if (latest === undefined || latest.generation !== input.generation) {
    return `generation ${input.generation} has no snapshot yet`;
  }
  const age = now - latest.takenAt;
  // A record dated more than an interval ahead means a clock was wrong when it was taken: waiting
  // for the clock to catch up could mean no snapshot for a long time.
  if (age < -intervalMs) return "the latest snapshot is dated in the future";
  if (trigger === "before-removal") {
    return age >= intervalMs
      ? `a removal is next and the latest snapshot is ${describeAge(input)}`
      : undefined;
  }
  // A scheduled run right after another snapshot (a duplicate delivery, or one taken before a
  // removal) is skipped; one that comes on time is never skipped for being a few seconds early.
  return age >= half(intervalMs) ? "the schedule is due" : undefined;
}

/**
 * The member to stream from: a voter that answered, knows a leader and reports no corruption;
 * followers before the leader, then the one furthest along the raft log, then by name and ID so
 * every observer picks the same.
 */
export function snapshotSource(candidates: readonly SnapshotCandidate[]): SnapshotCandidate | undefined {
  const eligible = candidates.filter(
    (c) => c.answered && !c.isLearner && c.leaderId !== "0" && !c.errors.some((e) => /corrupt/i.test(e)),
  );
  return eligible.sort(
    (a, b) =>
      Number(isLeader(a)) - Number(isLeader(b)) ||
      compareDecimal(b.raftAppliedIndex, a.raftAppliedIndex) ||
      compareText(a.name, b.name) ||
      compareText(a.memberId, b.memberId),
  )[0];
}

function isLeader(candidate: SnapshotCandidate): boolean {
  return candidate.memberId === candidate.leaderId;
}

function half(ms: number): number {
  return (ms - (ms % 2)) / 2;
}

function describeAge(input: SnapshotDueInput): string {
  const { latest, now } = input;
  if (latest === undefined) return "missing";
  return `${minutes(now - latest.takenAt)} min old (interval ${minutes(input.intervalMs)} min)`;
}

/** Whole minutes, truncated toward zero. */
function minutes(ms: number): number {
  return (ms - (ms % 60_000)) / 60_000;
}
