// What etcd is told about its storage: the backend quota, derived from the size of the node's data
// volume, and auto-compaction. The node API publishes these with the rest of a node's configuration
// (flags, env or drop-in); the upkeep decision reads the same quota to know when NOSPACE may be
// disarmed, so both come from this one function of the volume size.
//
// Quota: min(8 GiB, (volume − 512 MiB) / 2), rounded down to a whole MiB.
// - 8 GiB is etcd's suggested maximum (MaxQuotaBytes: etcd warns above it; a larger bbolt file makes
//   every snapshot sent to a new member, every defragmentation and every restart slower).
// - Half the volume: etcd's quota is checked against the db file's allocated size, and that file
//   needs as much free space again at two moments: defragmentation writes the live data to a new
//   file (db.tmp.*) beside the old one before renaming it over, and a follower that receives a
//   snapshot from the leader writes the whole db beside its own. A db at its quota must fit twice.
// - 512 MiB stays outside both for the WAL (5 retained segments of 64 MiB, preallocated), snapshot
//   files and the filesystem's own overhead.
// With the construct's default 20 GiB volume the quota is 8 GiB; 10 GiB gives 4.75 GiB; the smallest
// volume the construct allows, 1 GiB, gives 256 MiB.
//
// Compaction: `--auto-compaction-mode=periodic --auto-compaction-retention=1h`. Periodic keeps a
// stretch of time whatever the write rate (revision mode would need a write rate guessed up front).
// With a retention of an hour or more etcd compacts every hour, to the revision of one retention ago:
// a watcher that lost its connection (a client riding through a member's replacement, which takes
// minutes) resumes from its last revision rather than re-listing, while history stays bounded to
// about two hours of writes. The control plane compacts further only to recover from NOSPACE.

export const MIB = 1024 * 1024;
export const GIB = 1024 * MIB;

/** etcd's MaxQuotaBytes: the largest quota etcd recommends. */
export const MAX_QUOTA_BACKEND_BYTES = 8 * GIB;
/** Room on the volume outside the two copies of the db: WAL segments, snapshot files, slack. */
export const VOLUME_RESERVE_BYTES = 512 * MIB;
export const DEFAULT_COMPACTION_RETENTION_MINUTES = 60;

export class InvalidStorageInputError extends Error {
  override readonly name = "InvalidStorageInputError";
}

export interface EtcdStorageSettings {
  /** `--quota-backend-bytes` */
  readonly quotaBackendBytes: number;
  /** `--auto-compaction-mode` */
  readonly autoCompactionMode: "periodic";
  /** `--auto-compaction-retention`, a Go duration such as `1h` or `30m`. */
  readonly autoCompactionRetention: string;
}

/** The backend quota for a data volume of `volumeBytes` (see the file's header for the rule). */
export function quotaBackendBytes(volumeBytes: number): number {
  if (!Number.isSafeInteger(volumeBytes) || volumeBytes <= VOLUME_RESERVE_BYTES) {
    throw new InvalidStorageInputError(
      `the data volume must be a whole number of bytes above ${VOLUME_RESERVE_BYTES} (512 MiB); received ${volumeBytes}`,
    );
  }
  const half = (volumeBytes - VOLUME_RESERVE_BYTES - ((volumeBytes - VOLUME_RESERVE_BYTES) % 2)) / 2;
  const whole = half - (half % MIB);
  if (whole < MIB) {
    throw new InvalidStorageInputError(`a ${volumeBytes}-byte data volume leaves no room for a 1 MiB quota`);
  }
  return whole < MAX_QUOTA_BACKEND_BYTES ? whole : MAX_QUOTA_BACKEND_BYTES;
}

/** The storage settings for a node whose data volume is `volumeGiB` GiB. */
export function etcdStorageSettings(
  volumeGiB: number,
  retentionMinutes: number = DEFAULT_COMPACTION_RETENTION_MINUTES,
): EtcdStorageSettings {
  if (!Number.isSafeInteger(volumeGiB) || volumeGiB < 1) {
    throw new InvalidStorageInputError(
      `the data volume must be a whole number of GiB; received ${volumeGiB}`,
    );
  }
  if (!Number.isSafeInteger(retentionMinutes) || retentionMinutes < 1) {
    throw new InvalidStorageInputError(
      `the compaction retention must be a whole number of minutes, at least 1; received ${retentionMinutes}`,
    );
  }
  return {
    quotaBackendBytes: quotaBackendBytes(volumeGiB * GIB),
    autoCompactionMode: "periodic",
    autoCompactionRetention:
      retentionMinutes % 60 === 0 ? `${retentionMinutes / 60}h` : `${retentionMinutes}m`,
  };
}

/** The settings as etcd's own environment variables, in the order etcd documents them. */
export function etcdStorageVariables(settings: EtcdStorageSettings): Array<readonly [string, string]> {
  return [
    ["ETCD_QUOTA_BACKEND_BYTES", String(settings.quotaBackendBytes)],
    ["ETCD_AUTO_COMPACTION_MODE", settings.autoCompactionMode],
    ["ETCD_AUTO_COMPACTION_RETENTION", settings.autoCompactionRetention],
  ];
}
