// Which snapshot objects a retention policy keeps: tiers such as "one an hour for 7 days, one a day
// for 90", where each tier keeps the newest snapshot of every period (hour, day) that lies within
// its window. The newest snapshot of all is always kept, whatever its age, as is every object the
// caller pins (the ledger's latest record, the current generation's restore source): when snapshots
// stop — the cluster is down, S3 refuses writes — the last good one must still be there to restore.
// S3 lifecycle rules can only expire by age, so they cannot promise that; the snapshot function
// runs this after each snapshot it records and deletes the rest.

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Keep the newest snapshot of each `everyMs` period that began less than `forMs` ago. */
export interface RetentionTier {
  readonly everyMs: number;
  readonly forMs: number;
}

/** @default hourly for 7 days, daily for 90 days */
export const DEFAULT_RETENTION: readonly RetentionTier[] = [
  { everyMs: HOUR_MS, forMs: 7 * DAY_MS },
  { everyMs: DAY_MS, forMs: 90 * DAY_MS },
];

/** A snapshot object as a listing shows it. */
export interface StoredSnapshot {
  readonly key: string;
  /** Epoch milliseconds the snapshot was taken (or, failing that, written). */
  readonly takenAt: number;
}

export interface RetentionInput {
  readonly snapshots: readonly StoredSnapshot[];
  readonly tiers: readonly RetentionTier[];
  /** Epoch milliseconds, read by the caller. */
  readonly now: number;
  /** Keys never deleted, whatever their age. */
  readonly pinned: readonly string[];
}

export interface RetentionVerdict {
  /** Newest first. */
  readonly keep: readonly string[];
  /** Newest first. */
  readonly remove: readonly string[];
}

export function retainedSnapshots(input: RetentionInput): RetentionVerdict {
  const newestFirst = [...input.snapshots].sort(
    (a, b) => b.takenAt - a.takenAt || (a.key === b.key ? 0 : a.key < b.key ? 1 : -1),
  );
  const kept = new Set(input.pinned);
  const newest = newestFirst[0];
  if (newest !== undefined) kept.add(newest.key);
  for (const tier of input.tiers) {
    const periods = new Set<number>();
    for (const snapshot of newestFirst) {
      // A snapshot dated ahead of the clock counts as new: a skewed clock must not delete it.
      if (input.now - snapshot.takenAt >= tier.forMs) continue;
      const period = floorDiv(snapshot.takenAt, tier.everyMs);
      if (periods.has(period)) continue;
      periods.add(period);
      kept.add(snapshot.key);
    }
  }
  return {
    keep: newestFirst.filter((s) => kept.has(s.key)).map((s) => s.key),
    remove: newestFirst.filter((s) => !kept.has(s.key)).map((s) => s.key),
  };
}

/** Integer division rounding toward minus infinity, without Math (the domain has no Math). */
function floorDiv(value: number, divisor: number): number {
  const remainder = ((value % divisor) + divisor) % divisor;
  return (value - remainder) / divisor;
}

/** Checks a retention policy: every tier a positive period no longer than its window. */
export function retentionProblems(tiers: readonly RetentionTier[]): string[] {
  return tiers.flatMap((tier, index) => {
    const problems: string[] = [];
    if (!Number.isSafeInteger(tier.everyMs) || tier.everyMs <= 0)
      problems.push(
        `tier ${index}: everyMs must be a positive whole number of milliseconds, got ${tier.everyMs}`,
      );
    if (!Number.isSafeInteger(tier.forMs) || tier.forMs < tier.everyMs)
      problems.push(`tier ${index}: forMs must be at least everyMs (${tier.everyMs}), got ${tier.forMs}`);
    return problems;
  });
}

/** A retention policy as the functions' environment carries it: `<every>:<for>` in seconds per tier,
 * comma-separated, e.g. `3600:604800,86400:7776000` (the default). */
export function formatRetention(tiers: readonly RetentionTier[]): string {
  return tiers.map((t) => `${t.everyMs / 1000}:${t.forMs / 1000}`).join(",");
}

/** Reads `formatRetention`'s text; throws naming what is wrong. */
export function parseRetention(text: string): RetentionTier[] {
  const tiers = text.split(",").map((part, index) => {
    const match = /^(\d{1,10}):(\d{1,10})$/.exec(part.trim());
    if (match === null) {
      throw new InvalidRetentionError(
        `tier ${index} is ${JSON.stringify(part)}, not <every seconds>:<for seconds> (e.g. 3600:604800)`,
      );
    }
    return { everyMs: Number(match[1]) * 1000, forMs: Number(match[2]) * 1000 };
  });
  const problems = retentionProblems(tiers);
  if (problems.length > 0) throw new InvalidRetentionError(problems.join("; "));
  return tiers;
}

export class InvalidRetentionError extends Error {
  override readonly name = "InvalidRetentionError";
}
