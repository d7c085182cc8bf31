// The durability vocabulary shared by the snapshot schedule, quorum-loss detection, the choice of a
// restore source and the recovery plan: an etcd snapshot kept in S3 as the ledger records it, and
// the source a new cluster generation is restored from. Plain data, no I/O.

export const DISASTER_RECOVERY_MODES = ["automatic", "manual"] as const;
/** `automatic` opens a new generation by itself once quorum is lost for good; `manual` raises an
 * alarm and waits for an operator's restore command. */
export type DisasterRecoveryMode = (typeof DISASTER_RECOVERY_MODES)[number];

/** The member a snapshot was streamed from: its instance ID (the member name) and etcd member ID. */
export interface SnapshotMember {
  readonly instanceId: string;
  /** Decimal string, as etcd3 reports member IDs. */
  readonly memberId: string;
}

/** One etcd snapshot object in S3, as the snapshot function records it after a checked upload. */
export interface SnapshotRecord {
  /** The S3 object key (adapters/snapshots/keys.ts). */
  readonly key: string;
  /** Cluster token and generation of the cluster the snapshot was taken from. */
  readonly token: string;
  readonly generation: number;
  /**
   * The member's key-value revision read just before the snapshot began: the snapshot holds every
   * write up to it (and possibly a few more, made between that read and the snapshot).
   */
  readonly revision: number;
  /**
   * The member's revision read once the snapshot had begun: the snapshot holds no write after it.
   * Undefined when that read failed; `revision` is then the only bound known.
   */
  readonly maxRevision?: number | undefined;
  /** Bytes of the object: etcd's database followed by the 32-byte SHA-256 etcd appends to it. */
  readonly size: number;
  /** Lower-case hex SHA-256 of the whole object, as `sha256sum` of the downloaded file prints it. */
  readonly sha256: string;
  readonly member: SnapshotMember;
  /** Epoch milliseconds when the snapshot began. */
  readonly takenAt: number;
}

/**
 * What a new generation restores from: always a checked snapshot object in S3. A surviving member
 * whose data is newer than every snapshot is first streamed into S3 (the recovery plan's
 * `copy-survivor` step), so every node of the new generation restores the same verified bytes
 * through a presigned URL and no node ever starts from another node's data dir.
 */
export interface RestoreSource {
  readonly kind: "snapshot";
  readonly key: string;
  readonly sha256: string;
  readonly size: number;
  readonly revision: number;
  /** Token and generation of the cluster the snapshot was taken from. */
  readonly token: string;
  readonly generation: number;
  /** The member it was streamed from. */
  readonly member: SnapshotMember;
}

/** The restore source a snapshot record describes. */
export function restoreSourceOf(snapshot: SnapshotRecord): RestoreSource {
  const { key, sha256, size, revision, token, generation, member } = snapshot;
  return { kind: "snapshot", key, sha256, size, revision, token, generation, member };
}

/** Order of two non-negative decimal strings (etcd's raft indexes and revisions), without numbers
 * that could lose precision past 2^53. */
export function compareDecimal(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, "");
  const y = b.replace(/^0+(?=\d)/, "");
  if (x.length !== y.length) return x.length - y.length;
  if (x === y) return 0;
  return x < y ? -1 : 1;
}
