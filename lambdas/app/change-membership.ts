// The one path by which membership changes: decide on a fresh snapshot; if the decision changes
// anything, take the ledger's membership lock, decide again under it (unless the lock's version shows
// nobody held it since the snapshot), apply, and repeat until the engine answers with something that
// is not a change. Reads need no lock; every write holds it, and the lock's lease is renewed (fenced
// by its version) right before each change, unless it was taken or renewed moments before
// (renewsBeforeChange).
//
// The ledger and etcd are read afresh for every decision. The group is read once per call (our own
// changes do not move it) and again after waiting for another actor's lock, when time has passed.
// That keeps an event within a handful of AWS API calls.
import { LockHeldError, LockLostError } from "../adapters/ledger/errors";
import type { LedgerContents } from "../adapters/ledger/ledger";
import { changesMembership, type Decision } from "../domain/decision";
import { decide } from "../domain/engine";
import { renewsBeforeChange } from "../domain/lock-timing";
import type { MembershipLock, Snapshot, Subject } from "../domain/snapshot";
import { EtcdAsgError } from "../errors";
import { applyDecision } from "./apply-decision";
import { type GroupReading, loadSnapshot } from "./load-snapshot";
import type { Runtime } from "./ports";

/** A subject needs at most: remove a stale or dead member, add, and one re-check. */
const MAX_CHANGES = 4;
/** Waits for another actor's lock: its change takes tens of ms, so ask soon, then back off. */
const LOCK_POLL = { firstMs: 20, maxMs: 250 } as const;
/** Waits between etcd's passing refusals: a learner catches up in tens of ms on a small cluster; the
 * 5 s connection rule is met within a step of 100 ms, as an operator retrying by hand would meet it
 * (each step reads the ledger and the members' status again: about 50 reads over the 5 s). */
const REFUSAL_RETRY = { firstMs: 25, maxMs: 100 } as const;

export interface ChangeOutcome {
  /** The last decision, which changes nothing more (wait, refuse, settled, not-a-member, bootstrap fixed). */
  readonly decision: Decision;
  readonly snapshot: Snapshot;
  readonly ledger: LedgerContents;
  /** The changes made on the way, in order. */
  readonly changes: readonly Decision[];
}

export class TooManyChangesError extends EtcdAsgError {
  override readonly name = "TooManyChangesError";
}

/** `instances`: the group as the caller has just read it (or is reading it), if it has; `ledgerReading`:
 * the ledger as the caller has just read it and written nothing after, if it has (the first
 * decision is made on it). `lockWaitMs`: how long to wait for another actor's lock (the config's
 * lockWaitMs by default); a caller that gives its own gets, past it, a wait rather than an error or
 * a decision made while the other's change is under way (a held configuration request, which then
 * watches the ledger for the release at the ledger poll's pace, finer than the lock poll's). */
export async function changeMembership(
  rt: Runtime,
  subject: Subject,
  instances?: GroupReading,
  ledgerReading?: LedgerContents,
  { lockWaitMs }: { readonly lockWaitMs?: number } = {},
): Promise<ChangeOutcome> {
  const changes: Decision[] = [];
  let group: GroupReading | undefined = instances;
  let fresh = ledgerReading;
  let lock: MembershipLock | undefined;
  const lockDeadline = rt.now() + (lockWaitMs ?? rt.config.lockWaitMs);
  const ownWait = lockWaitMs !== undefined;
  /** The lock, another actor's waited for until the deadline; undefined past it when the caller's
   * lock wait is its own. */
  const take = async () => {
    try {
      return await acquire(rt, lockDeadline, group);
    } catch (error) {
      if (ownWait && error instanceof LockHeldError) return undefined;
      throw error;
    }
  };
  const changeDeadline = rt.now() + rt.config.refusalWaitMs;
  let refusalRetryMs: number = REFUSAL_RETRY.firstMs;
  try {
    for (;;) {
      const { snapshot, ledger } = await loadSnapshot(rt, subject, group, fresh);
      group = snapshot.instances;
      fresh = undefined;
      const decision = decide(snapshot);
      rt.logger.info("decision", { subject, decision: summary(decision), held: lock !== undefined });
      if (!changesMembership(decision) || isFixed(decision, snapshot)) {
        const other = lock === undefined ? othersLock(snapshot) : undefined;
        // Another actor is changing membership: wait for its lock, then look again.
        const taken = other !== undefined && rt.now() < lockDeadline ? await take() : undefined;
        if (taken !== undefined) {
          ({ lock, group } = taken);
          continue;
        }
        const waits = other !== undefined && ownWait;
        return { decision: waits ? lockedOut(other.holder) : decision, snapshot, ledger, changes };
      }
      if (lock === undefined) {
        const taken = await take();
        if (taken === undefined) {
          return { decision: lockedOut(othersLock(snapshot)?.holder), snapshot, ledger, changes };
        }
        ({ lock, group } = taken);
        // Decide again under the lock, unless the lock proves nobody changed membership since the
        // reading: it was free then, and this acquisition is the first since.
        if (!(ledger.lock === undefined && lock.version === ledger.lockVersion + 1)) continue;
      }
      if (changes.length >= MAX_CHANGES) {
        throw new TooManyChangesError(
          `${MAX_CHANGES} changes for one subject without settling; last: ${decision.reason}`,
        );
      }
      if (renewsBeforeChange(lock.expiresAt, rt.now(), rt.config.lockTtlMs)) {
        lock = await rt.ledger.renewLock(lock.holder, lock.version, rt.config.lockTtlMs, rt.now());
      }
      const applied = await applyDecision(rt, decision, snapshot, ledger);
      if (!applied.done) {
        // etcd's refusals pass (a voter connected for under 5 s, a learner catching up): look again
        // shortly, within this invocation's budget, instead of leaving it to the next event.
        if (rt.now() < changeDeadline) {
          rt.logger.info("etcd refused for now; retrying", { reason: applied.wait });
          await rt.sleep(refusalRetryMs);
          refusalRetryMs = Math.min(refusalRetryMs * 2, REFUSAL_RETRY.maxMs);
          continue;
        }
        return { decision: { kind: "wait", reason: applied.wait }, snapshot, ledger, changes };
      }
      rt.logger.info("applied", { decision: summary(decision) });
      changes.push(decision);
    }
  } finally {
    if (lock !== undefined) await release(rt, lock);
  }
}

/** A bootstrap decision is a change only until the ledger holds the cluster record. */
function isFixed(decision: Decision, snapshot: Snapshot): boolean {
  return decision.kind === "bootstrap" && snapshot.ledger.cluster !== undefined;
}

/** Another actor's lock, unexpired, in this snapshot. */
function othersLock(snapshot: Snapshot): MembershipLock | undefined {
  const lock = snapshot.ledger.lock;
  return lock !== undefined && lock.holder !== snapshot.actor && lock.expiresAt > snapshot.now
    ? lock
    : undefined;
}

/** The wait of a caller whose own lock wait ran out while `holder` changes membership. */
function lockedOut(holder = "another actor"): Decision {
  return { kind: "wait", reason: `${holder} is changing membership: asking again once it is done` };
}

/** The lock, and the group reading still to use: none (read again) if we had to wait for the lock. */
async function acquire(
  rt: Runtime,
  deadline: number,
  group: GroupReading | undefined,
): Promise<{ lock: MembershipLock; group: GroupReading | undefined }> {
  let reading = group;
  let pollMs: number = LOCK_POLL.firstMs;
  for (;;) {
    try {
      return { lock: await rt.ledger.acquireLock(rt.actor(), rt.config.lockTtlMs, rt.now()), group: reading };
    } catch (error) {
      if (!(error instanceof LockHeldError) || rt.now() >= deadline) throw error;
      reading = undefined;
      await rt.sleep(pollMs);
      pollMs = Math.min(pollMs * 2, LOCK_POLL.maxMs);
    }
  }
}

async function release(rt: Runtime, lock: MembershipLock): Promise<void> {
  try {
    await rt.ledger.releaseLock(lock.holder, lock.version);
  } catch (error) {
    // Lost means another actor took over after our lease expired: nothing of ours to release.
    if (!(error instanceof LockLostError)) throw error;
  }
}

export function summary(decision: Decision): Record<string, unknown> {
  const base = { kind: decision.kind, reason: decision.reason };
  switch (decision.kind) {
    case "join":
      return { ...base, add: decision.add, removeFirst: decision.removeFirst?.id };
    case "promote":
    case "remove":
      return { ...base, member: decision.member.id, name: decision.member.name };
    case "bootstrap":
      return { ...base, initialMembers: decision.initialMembers.map((m) => m.instanceId) };
    default:
      return base;
  }
}
