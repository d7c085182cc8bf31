// The two invariants of a majority lost for good (issue 15), as pure judgements over what a run
// observed: at most one cluster ID per ledger generation (a new generation gets a new cluster, and
// no generation ever has two), and every write acknowledged up to the last snapshot before the loss
// is read back afterwards. An acknowledged write above that snapshot that recovery did not bring
// back is counted as lost after the snapshot, not as a violation: the newest data that existed may
// not have held it. Any other acknowledged write missing stays a violation, as in every run.

/** For each generation with more than one cluster ID, what the monitor saw. */
export function generationsWithTwoClusterIds(
  idsByGeneration: ReadonlyMap<number, ReadonlyMap<string, string>>,
): string[] {
  return [...idsByGeneration]
    .filter(([, ids]) => ids.size > 1)
    .map(
      ([generation, ids]) =>
        `generation ${generation} served under ${ids.size} cluster IDs: ${[...ids]
          .map(([id, url]) => `${id} (first from ${url})`)
          .join(", ")}`,
    );
}

export interface AcknowledgedWrites {
  /** key → value acknowledged. */
  readonly acknowledged: ReadonlyMap<string, string>;
  /** Keys acknowledged up to the last snapshot before a loss. */
  readonly preSnapshot: ReadonlySet<string>;
  /** Keys acknowledged above that snapshot, before the loss. */
  readonly atRisk: ReadonlySet<string>;
}

export interface ReadBack {
  readonly verified: number;
  /** Acknowledged up to the last snapshot before a loss, and not read back as written. */
  readonly preSnapshotMissing: string[];
  /** Acknowledged above that snapshot before the loss, and not read back: lost after the snapshot. */
  readonly lostAfterSnapshot: string[];
  /** Every other acknowledged write not read back as written. */
  readonly missing: string[];
}

/** Sorts the acknowledged writes by whether `stored` (key → value read back) holds them as written. */
export function judgeReadBack(
  writes: AcknowledgedWrites,
  stored: Readonly<Record<string, string>>,
): ReadBack {
  const result: ReadBack = { verified: 0, preSnapshotMissing: [], lostAfterSnapshot: [], missing: [] };
  let verified = 0;
  for (const [key, value] of writes.acknowledged) {
    if (stored[key] === value) verified += 1;
    else if (writes.preSnapshot.has(key)) result.preSnapshotMissing.push(key);
    else if (writes.atRisk.has(key)) result.lostAfterSnapshot.push(key);
    else result.missing.push(key);
  }
  return { ...result, verified };
}
