// How long the membership lock is held and waited for, and what that asks of the terminate hook's
// heartbeat timeout. A reconcile pass heartbeats every terminating instance's action at its start,
// then may wait for the lock twice (its own change, then a termination's) before it decides; the next
// pass starts a period later. A lock whose holder could not release it (the ledger down at that
// moment) holds for its whole lease, so waits are met in practice (chaos seed 16025).

/** The membership lock's lease: a change that outlives it is fenced off. */
export const LOCK_TTL_SECONDS = 60;

/** A lease with more than this share of the lock's TTL left is not renewed before a change. */
const FRESH_LEASE_SHARE = 0.75;

/**
 * Whether the holder renews its lease (fenced by the lock's version) before its next change. A lease
 * taken or renewed moments before, with more than three quarters of it left, is the holder's beyond
 * any clock skew between actors for longer than a change takes: renewing it would only add a write
 * to the ledger on a node's way to a voter.
 */
export function renewsBeforeChange(leaseUntil: number, now: number, ttlMs: number): boolean {
  return leaseUntil - now <= ttlMs * FRESH_LEASE_SHARE;
}

/** How long a handler waits for a lock another holds before it gives up for now. */
export const LOCK_WAIT_SECONDS = 20;

/** What a reconcile pass's own work may take, on top of its lock waits. */
const PASS_WORK_SECONDS = 30;

/**
 * The shortest terminate heartbeat timeout that outlasts the gap between two heartbeats the control
 * plane records on a waiting action: a reconcile period, two lock waits and the pass's work.
 */
export function minTerminateHeartbeatSeconds(reconcilePeriodSeconds: number): number {
  return reconcilePeriodSeconds + 2 * LOCK_WAIT_SECONDS + PASS_WORK_SECONDS;
}
