// Checks an etcd snapshot stream on its way to S3, without holding it. etcd's Maintenance.Snapshot
// sends the backend database in chunks and then one more message: the SHA-256 of everything sent
// before it (etcd server/etcdserver/api/v3rpc/maintenance.go, `Snapshot`; 3.4 and later alike).
// `etcdctl snapshot save` keeps those 32 bytes at the end of the file, and `snapshot restore` checks
// them whenever the size less 32 is a multiple of 512 (bolt databases are whole pages): the object
// stored is the stream as etcd sent it, so it restores with the check on.
//
// The stream passes through unchanged. The last 32 bytes seen are held aside from the database hash
// until more arrive, so at the end the hash of all but the last 32 bytes is compared with them; a
// mismatch, a short stream or a size that is not a database plus its hash fails the stream in its
// final step, so it errors instead of ending: a consumer that completes an upload only once the
// stream has ended (lib-storage's Upload does) never completes a bad one.
import { createHash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";

const SHA256_BYTES = 32;
/** etcd restores treat a file as "database + hash" only when this divides the database's size. */
const HASHED_DATABASE_ALIGNMENT = 512;

/** One message of the stream, as etcd3 decodes it. */
export interface SnapshotChunk {
  readonly blob: Buffer;
}

/** The stream was not a database followed by its SHA-256; `message` says how. */
export class SnapshotStreamCheckError extends Error {
  override readonly name = "SnapshotStreamCheckError";
}

export interface VerifiedSnapshot {
  /** Bytes passed on: the database and its 32-byte hash. */
  readonly size: number;
  /** Lower-case hex SHA-256 of everything passed on. */
  readonly sha256: string;
  /** Lower-case hex SHA-256 of the database alone: the hash etcd appended. */
  readonly databaseSha256: string;
}

export class SnapshotVerifier extends Transform {
  private readonly whole = createHash("sha256");
  private readonly database = createHash("sha256");
  /** The last bytes seen, at most 32: not hashed into `database` until more follow. */
  private held: Buffer = Buffer.alloc(0);
  private bytes = 0;
  private result: VerifiedSnapshot | undefined;

  constructor(private readonly onFirstChunk?: () => void) {
    super({ writableObjectMode: true, readableObjectMode: false });
  }

  /** Set once the stream has ended and passed every check. */
  get verified(): VerifiedSnapshot | undefined {
    return this.result;
  }

  override _transform(chunk: SnapshotChunk, _encoding: BufferEncoding, done: TransformCallback): void {
    const blob = chunk.blob;
    if (!Buffer.isBuffer(blob)) {
      done(new SnapshotStreamCheckError("a snapshot message without a blob"));
      return;
    }
    if (this.bytes === 0 && blob.length > 0) this.onFirstChunk?.();
    this.bytes += blob.length;
    this.whole.update(blob);
    if (blob.length >= SHA256_BYTES) {
      this.database.update(this.held);
      this.database.update(blob.subarray(0, blob.length - SHA256_BYTES));
      // A copy: holding a view would keep the whole chunk alive.
      this.held = Buffer.from(blob.subarray(blob.length - SHA256_BYTES));
    } else {
      const joined = Buffer.concat([this.held, blob]);
      const cut = joined.length - SHA256_BYTES;
      if (cut > 0) this.database.update(joined.subarray(0, cut));
      this.held = cut > 0 ? joined.subarray(cut) : joined;
    }
    done(null, blob);
  }

  override _flush(done: TransformCallback): void {
    const databaseBytes = this.bytes - SHA256_BYTES;
    if (databaseBytes <= 0) {
      done(new SnapshotStreamCheckError(`the stream ended after ${this.bytes} bytes: no database and hash`));
      return;
    }
    const computed = this.database.digest();
    if (!computed.equals(this.held)) {
      done(
        new SnapshotStreamCheckError(
          `the SHA-256 of the ${databaseBytes}-byte database is ${computed.toString("hex")}, but the stream ends with ${this.held.toString("hex")}`,
        ),
      );
      return;
    }
    if (databaseBytes % HASHED_DATABASE_ALIGNMENT !== 0) {
      done(
        new SnapshotStreamCheckError(
          `the database is ${databaseBytes} bytes, not a multiple of ${HASHED_DATABASE_ALIGNMENT}: etcd's restore would not find its hash`,
        ),
      );
      return;
    }
    this.result = {
      size: this.bytes,
      sha256: this.whole.digest("hex"),
      databaseSha256: computed.toString("hex"),
    };
    done();
  }
}
