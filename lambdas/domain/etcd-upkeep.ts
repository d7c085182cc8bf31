// etcd's upkeep, as one step at a time: defragment a member, compact, disarm NOSPACE — or nothing,
// with the reason. A handler applies the step, reads the members' status and the alarms again, and
// asks again until the answer is `idle` or `hold` (as the membership engine is driven).
//
// NOSPACE recovery (any pass; the reconciler runs every minute): etcd raises NOSPACE when a write
// would take the db file past `--quota-backend-bytes` and then refuses puts cluster-wide (deletes and
// compactions still pass). The way out is etcd's documented one: compact to the current revision
// (history is what fills a db most often, and no client can write meanwhile), defragment every member
// whose db file is over the line (compaction frees pages inside the file; only defragmentation
// shrinks the file, and the file's size is what etcd checks against the quota), then disarm. NOSPACE
// is disarmed only when every member that answers has its db file under `disarmBelowPercent` of the
// quota: disarmed any closer, the next writes raise it again and every member is defragmented again.
// Right after a compaction the size in use cannot be trusted: etcd computes it when it commits, the
// pages a compaction frees count as free only from a later commit, and under NOSPACE nothing else
// commits (etcd 3.4.23: 30 s after a compaction that removed nearly all of the data, every member
// still reported its size in use from before, two of three equal to their file size). So after a
// compaction that removed history, each oversized member is defragmented once whatever its size in
// use says; the defragmentation measures. The progress (UpkeepRun) is kept in the ledger across
// passes, so that is once per compaction, not once per pass. A member still over the line after that
// holds live data over the line, and no upkeep helps: the answer says to delete keys (etcd takes
// deletes under NOSPACE) or raise the quota, and compaction resumes once a delete moves the revision on.
//
// Scheduled defragmentation (its own schedule, e.g. daily): a member is defragmented when enough of
// its db file is free to be worth the pause (defragmentation blocks the member's reads and writes
// while it copies the live data): at least `defragMinFreeBytes` and `defragMinFreePercent` of the
// file, or any `defragMinFreeBytes` once the file nears the quota. One member per step, followers
// first and the leader last (defragmenting the leader stalls every write for its duration, so it goes
// once, at the end), and none while the membership lock is held, a learner joins, or any member does
// not answer (a defragmenting member does not answer either: with one already silent, quorum would
// hang on the rest). A defragmented member reports its sizes exactly, so it falls under the
// thresholds and a run ends. CORRUPT holds every step: a member whose data diverged needs an
// operator, and a defragmentation would rewrite the evidence.
import type { Member } from "./snapshot";
import { compareText, isHealthy } from "./view";

export const ALARM_KINDS = ["NOSPACE", "CORRUPT"] as const;
export type AlarmKind = (typeof ALARM_KINDS)[number];

export interface RaisedAlarm {
  readonly memberId: string;
  readonly alarm: AlarmKind;
}

/** One member's Maintenance.Status, as upkeep reads it. Sizes in bytes. */
export interface MemberStorage {
  readonly memberId: string;
  /** The client URL the status came from: where a defragmentation of this member is sent. */
  readonly endpoint: string;
  /** "0" while the member knows no leader. */
  readonly leaderId: string;
  /** The store's revision as this member has applied it. */
  readonly revision: number;
  /** Size of the db file as allocated: what etcd checks against the quota. */
  readonly dbSize: number;
  /** Size of the pages in use; the rest of the file is reclaimable by defragmentation. */
  readonly dbSizeInUse: number;
}

export interface UpkeepPolicy {
  /** The nodes' `--quota-backend-bytes` (etcd-storage.ts). */
  readonly quotaBackendBytes: number;
  /** NOSPACE is disarmed once every db file is under this share of the quota. @default 80 */
  readonly disarmBelowPercent: number;
  /** A scheduled defragmentation reclaims at least this much. @default 64 MiB */
  readonly defragMinFreeBytes: number;
  /** ...and at least this share of the db file, unless the file nears the quota. @default 25 */
  readonly defragMinFreePercent: number;
}

export const DEFAULT_UPKEEP_POLICY: Omit<UpkeepPolicy, "quotaBackendBytes"> = {
  disarmBelowPercent: 80,
  defragMinFreeBytes: 64 * 1024 * 1024,
  defragMinFreePercent: 25,
};

export interface UpkeepInput {
  /** `schedule`: the maintenance schedule (defragments on free space); `reconcile`: alarms only. */
  readonly trigger: "schedule" | "reconcile";
  readonly policy: UpkeepPolicy;
  /** etcd's member list with this pass's health (`healthy`: answered a status call). */
  readonly members: readonly Member[];
  /** Status of the members that answered. */
  readonly storage: readonly MemberStorage[];
  /** The cluster's raised alarms; undefined when the list could not be read. */
  readonly alarms: readonly RaisedAlarm[] | undefined;
  /** Someone holds the membership lock (unexpired). */
  readonly lockHeld: boolean;
  /** NOSPACE recovery's progress (NEW_RUN when none). */
  readonly run: UpkeepRun;
}

/**
 * How far NOSPACE recovery has come since its last compaction. It outlives one invocation (the
 * ledger keeps it): a run cut short by a hold resumes where it stopped, and each member is
 * defragmented at most once per compaction, so a db whose live data is over the line is not
 * defragmented again on every pass. A compaction to a newer revision starts it over.
 */
export interface UpkeepRun {
  /** The revision last compacted to (or found compacted already) by the recovery. */
  readonly compactedRevision: number | undefined;
  /** That compaction removed history (it was not compacted already): sizes in use are stale. */
  readonly compactionFreedHistory: boolean;
  /** Member IDs defragmented since that compaction. */
  readonly defragmented: readonly string[];
}

export const NEW_RUN: UpkeepRun = {
  compactedRevision: undefined,
  compactionFreedHistory: false,
  defragmented: [],
};

export type UpkeepStep =
  | { readonly kind: "compact"; readonly revision: number; readonly reason: string }
  | {
      readonly kind: "defragment";
      readonly memberId: string;
      readonly endpoint: string;
      readonly leader: boolean;
      readonly reason: string;
    }
  | { readonly kind: "disarm"; readonly alarms: readonly RaisedAlarm[]; readonly reason: string }
  /** Something needs doing but not now (or not by the control plane): look again next pass. */
  | { readonly kind: "hold"; readonly reason: string }
  | { readonly kind: "idle"; readonly reason: string };

export interface UpkeepDecision {
  readonly step: UpkeepStep;
  /** Members with each alarm raised, published as metrics on every pass. */
  readonly alarmCounts: { readonly nospace: number; readonly corrupt: number };
}

export function decideUpkeep(input: UpkeepInput): UpkeepDecision {
  const alarms = input.alarms ?? [];
  const alarmCounts = {
    nospace: countMembers(alarms, "NOSPACE"),
    corrupt: countMembers(alarms, "CORRUPT"),
  };
  return { step: step(input, alarms), alarmCounts };
}

function step(input: UpkeepInput, alarms: readonly RaisedAlarm[]): UpkeepStep {
  if (input.alarms === undefined) return { kind: "hold", reason: "the alarm list could not be read" };
  if (input.members.length === 0) return { kind: "hold", reason: "no etcd member answered" };
  const corrupt = alarms.filter((a) => a.alarm === "CORRUPT");
  if (corrupt.length > 0) {
    return {
      kind: "hold",
      reason: `CORRUPT raised for member(s) ${ids(corrupt)}: etcd refuses writes and the data of a member diverged; an operator must replace it (upkeep holds so as not to rewrite the evidence)`,
    };
  }
  const nospace = alarms.filter((a) => a.alarm === "NOSPACE");
  if (nospace.length > 0) return recoverSpace(input, nospace);
  if (input.trigger === "reconcile") return { kind: "idle", reason: "no alarm raised" };
  return scheduledDefragmentation(input);
}

function recoverSpace(input: UpkeepInput, nospace: readonly RaisedAlarm[]): UpkeepStep {
  const { policy, storage, run } = input;
  const line = shareOf(policy.quotaBackendBytes, policy.disarmBelowPercent);
  const revision = storage.reduce((max, s) => (s.revision > max ? s.revision : max), 0);
  const leaders = leaderIds(storage);
  if (leaders.size > 0 && revision > 0 && (run.compactedRevision ?? 0) < revision) {
    return {
      kind: "compact",
      revision,
      reason: `NOSPACE raised for member(s) ${ids(nospace)}: compacting to the current revision ${revision} frees the history first`,
    };
  }
  const oversized = storage.filter((s) => s.dbSize >= line);
  if (oversized.length === 0) {
    const silent = input.members.filter((m) => !isHealthy(m) || statusOf(input, m) === undefined);
    return {
      kind: "disarm",
      alarms: nospace,
      reason:
        `every answering member's db file is under ${line} bytes (${policy.disarmBelowPercent}% of the quota): NOSPACE disarmed` +
        (silent.length > 0
          ? `; ${silent.map((m) => m.id).join(", ")} did not answer and serve no writes`
          : ""),
    };
  }
  // After a compaction that removed history the size in use is stale (see the file's header): the
  // defragmentation measures. Otherwise only a member with space worth reclaiming is defragmented.
  const todo = oversized.filter(
    (s) =>
      !run.defragmented.includes(s.memberId) &&
      (run.compactionFreedHistory || s.dbSize - s.dbSizeInUse >= policy.defragMinFreeBytes),
  );
  if (todo.length === 0) {
    return {
      kind: "hold",
      reason:
        `NOSPACE raised and the db file of member(s) ${oversized.map((s) => `${s.memberId} (${s.dbSize} bytes, ${s.dbSizeInUse} in use)`).join(", ")} ` +
        `is over ${line} bytes (${policy.disarmBelowPercent}% of the ${policy.quotaBackendBytes}-byte quota) after compaction and defragmentation: ` +
        "delete keys (etcd accepts deletes under NOSPACE) or raise the quota",
    };
  }
  const blocked = blocker(input);
  if (blocked !== undefined) return { kind: "hold", reason: `NOSPACE recovery waits: ${blocked}` };
  return defragment(
    todo,
    leaders,
    (s) => `NOSPACE recovery: db file ${s.dbSize} bytes is over the ${line}-byte line`,
  );
}

function scheduledDefragmentation(input: UpkeepInput): UpkeepStep {
  const { policy } = input;
  const blocked = blocker(input);
  if (blocked !== undefined) return { kind: "hold", reason: `defragmentation waits: ${blocked}` };
  const nearQuota = shareOf(policy.quotaBackendBytes, policy.disarmBelowPercent);
  const worth = input.storage.filter((s) => {
    const free = s.dbSize - s.dbSizeInUse;
    if (free < policy.defragMinFreeBytes) return false;
    return free * 100 >= s.dbSize * policy.defragMinFreePercent || s.dbSize >= nearQuota;
  });
  if (worth.length === 0) {
    return {
      kind: "idle",
      reason: `no member has ${policy.defragMinFreeBytes} bytes and ${policy.defragMinFreePercent}% of its db file free`,
    };
  }
  return defragment(
    worth,
    leaderIds(input.storage),
    (s) => `scheduled: ${s.dbSize - s.dbSizeInUse} of ${s.dbSize} bytes free in its db file`,
  );
}

/** Why no member may be defragmented now, if something forbids it. */
function blocker(input: UpkeepInput): string | undefined {
  if (input.lockHeld) return "the membership lock is held; one change at a time";
  const learner = input.members.find((m) => m.isLearner);
  if (learner !== undefined) return `learner ${learner.id} is joining`;
  const silent = input.members.filter((m) => !isHealthy(m) || statusOf(input, m) === undefined);
  if (silent.length > 0) {
    return `member(s) ${silent.map((m) => m.id).join(", ")} do not answer; every member must answer before one is paused`;
  }
  return undefined;
}

/** One member of `candidates`: followers by member ID first, a leader last. */
function defragment(
  candidates: readonly MemberStorage[],
  leaders: ReadonlySet<string>,
  why: (s: MemberStorage) => string,
): UpkeepStep {
  const ordered = [...candidates].sort(
    (a, b) =>
      Number(leaders.has(a.memberId)) - Number(leaders.has(b.memberId)) ||
      compareText(a.memberId, b.memberId),
  );
  const next = ordered[0] as MemberStorage;
  const leader = leaders.has(next.memberId);
  return {
    kind: "defragment",
    memberId: next.memberId,
    endpoint: next.endpoint,
    leader,
    reason: `defragmenting member ${next.memberId}${leader ? " (the leader, last)" : ""}: ${why(next)}`,
  };
}

/** Members that any member names as its leader (normally one). */
function leaderIds(storage: readonly MemberStorage[]): Set<string> {
  return new Set(storage.map((s) => s.leaderId).filter((id) => id !== "0"));
}

function statusOf(input: UpkeepInput, member: Member): MemberStorage | undefined {
  return input.storage.find((s) => s.memberId === member.id);
}

/** `percent`% of `bytes`, rounded down (integer arithmetic: the domain has no Math). */
function shareOf(bytes: number, percent: number): number {
  const scaled = bytes * percent;
  return (scaled - (scaled % 100)) / 100;
}

function countMembers(alarms: readonly RaisedAlarm[], kind: AlarmKind): number {
  return new Set(alarms.filter((a) => a.alarm === kind).map((a) => a.memberId)).size;
}

function ids(alarms: readonly RaisedAlarm[]): string {
  return [...new Set(alarms.map((a) => a.memberId))].join(", ");
}
