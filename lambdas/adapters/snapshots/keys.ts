// The snapshot bucket's key layout:
//
//   <cluster name>/<cluster token>/<revision, 20 digits>-<UTC time, yyyymmddThhmmss.mmmZ>.db
//
// The cluster name first: one bucket may serve several clusters, and IAM, listings and retention
// work per cluster prefix. The token next: it changes with every generation, so a generation's
// snapshots are one prefix and never mix with another's (revisions may repeat across generations).
// The revision zero-padded so that a listing, which S3 returns in key order, lists a generation's
// snapshots oldest data first; the time after it so that two snapshots of an idle cluster (same
// revision) never share a key — an object is never overwritten, so the hash the ledger holds for a
// key always matches the object under it.
import { InvalidSnapshotInputError } from "./errors";

const CLUSTER_NAME = /^[A-Za-z0-9._-]{1,128}$/;
/** Tokens are `<cluster name>-<uuid>` today; anything that cannot split the key is accepted. */
const TOKEN = /^[A-Za-z0-9._-]{1,200}$/;
const REVISION_DIGITS = 20;
const KEY = /^([A-Za-z0-9._-]{1,128})\/([A-Za-z0-9._-]{1,200})\/(\d{20})-(\d{8}T\d{6}\.\d{3}Z)\.db$/;

export interface SnapshotKeyParts {
  readonly clusterName: string;
  readonly token: string;
  readonly revision: number;
  /** Epoch milliseconds. */
  readonly takenAt: number;
}

export function snapshotKey(parts: SnapshotKeyParts): string {
  const { clusterName, token, revision, takenAt } = parts;
  if (!CLUSTER_NAME.test(clusterName)) {
    throw new InvalidSnapshotInputError(
      "cluster name",
      `${JSON.stringify(clusterName)} cannot be a key prefix`,
    );
  }
  if (!TOKEN.test(token)) throw new InvalidSnapshotInputError("cluster token", JSON.stringify(token));
  if (!Number.isSafeInteger(revision) || revision < 0) {
    throw new InvalidSnapshotInputError("revision", `${revision} is not a non-negative whole number`);
  }
  if (!Number.isSafeInteger(takenAt) || takenAt < 0) {
    throw new InvalidSnapshotInputError("snapshot time", `${takenAt} is not epoch milliseconds`);
  }
  const time = new Date(takenAt).toISOString().replace(/[-:]/g, "");
  return `${clusterName}/${token}/${String(revision).padStart(REVISION_DIGITS, "0")}-${time}.db`;
}

/** The parts of a key this layout made; undefined for any other key. */
export function parseSnapshotKey(key: string): SnapshotKeyParts | undefined {
  const match = KEY.exec(key);
  if (match === null) return undefined;
  const [, clusterName = "", token = "", revision = "", time = ""] = match;
  const iso = `${time.slice(0, 4)}-${time.slice(4, 6)}-${time.slice(6, 8)}T${time.slice(9, 11)}:${time.slice(11, 13)}:${time.slice(13)}`;
  const takenAt = Date.parse(iso);
  const parsedRevision = Number(revision);
  if (Number.isNaN(takenAt) || !Number.isSafeInteger(parsedRevision)) return undefined;
  return { clusterName, token, revision: parsedRevision, takenAt };
}

/** Every snapshot of one cluster lies under this prefix. */
export function clusterPrefix(clusterName: string): string {
  if (!CLUSTER_NAME.test(clusterName)) {
    throw new InvalidSnapshotInputError(
      "cluster name",
      `${JSON.stringify(clusterName)} cannot be a key prefix`,
    );
  }
  return `${clusterName}/`;
}
