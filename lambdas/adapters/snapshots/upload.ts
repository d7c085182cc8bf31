// Streams etcd's Maintenance snapshot from one member into S3 as a multipart upload, checked on the
// way and never held whole in memory: etcd3's response stream (gRPC flow control: a message is read
// only when the previous ones were consumed) → SnapshotVerifier (hashes, passes bytes on) →
// lib-storage's Upload (cuts parts of `partSizeBytes`, at most `queueSize` in flight). The upload is
// completed only after the stream ended with a matching hash; on any failure it is aborted, so no
// object exists under the key. The ledger record is the caller's next step (ledger/snapshots.ts).

import { setTimeout as sleep } from "node:timers/promises";
import { AbortMultipartUploadCommand, PutObjectTaggingCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { Etcd3, IStatusResponse } from "etcd3";
import type { SnapshotMember, SnapshotRecord } from "../../domain/durability";
import { EtcdAsgError } from "../../errors";
import { translateEtcdError } from "../etcd/translate";
import { InvalidSnapshotInputError, SnapshotIntegrityError, SnapshotSourceMismatchError } from "./errors";
import { snapshotKey } from "./keys";
import { METADATA, type SnapshotStore, TAGS } from "./store";
import { translateS3Error } from "./translate";
import { SnapshotStreamCheckError, SnapshotVerifier } from "./verify";

/** The member's client URL and a way to call it: the etcd adapter's `EtcdEndpoint` (mutual TLS
 * on https URLs) has this shape. */
export interface SnapshotEndpoint {
  readonly url: string;
  call<T>(
    operation: string,
    run: (client: Etcd3, options: { deadline: Date }) => Promise<T>,
    timeoutMs?: number,
  ): Promise<T>;
}

/** How the upload buffers: at most about (queueSize + 2) × partSizeBytes of the snapshot in memory
 * (the part being filled, the one being cut, and those in flight). */
export interface UploadTuning {
  readonly partSizeBytes: number;
  readonly queueSize: number;
}

const MIB = 1024 * 1024;
/** S3's smallest part (all but the last). */
const MIN_PART_BYTES = 5 * MIB;
/** The smallest function memory the snapshot fits in (see uploadTuning). */
export const MIN_FUNCTION_MEMORY_MB = 256;
/** A larger part saves requests but not time once parts are a few MiB. */
const MAX_PART_BYTES = 64 * MIB;

/**
 * Parts of 1/32 of the function's memory (64 MiB at the most), 2 in flight below 1 GB and 4 from
 * there: for 256 MB, 8 MiB parts and 2 in flight. lib-storage concatenates each part from the stream's
 * chunks and the copies are freed only at the next garbage collection, so a snapshot adds about
 * eight parts' worth: measured on Lambda's Node 24 with a 320 MiB snapshot
 * (test/integration/snapshot-memory.test.ts), peak RSS 155–173 MiB for 256 MB (about 97 MiB before
 * the snapshot: Node, the SDK, etcd3, gRPC and TLS), 198 for 512, 312 for 1024. Below 256 MB the
 * function does not fit: 128 MB peaked at 157 MiB. 10,000 parts of 8 MiB hold 78 GiB, far beyond
 * etcd's 8 GiB database limit.
 */
export function uploadTuning(memoryMb: number): UploadTuning {
  if (!Number.isInteger(memoryMb) || memoryMb < MIN_FUNCTION_MEMORY_MB) {
    throw new InvalidSnapshotInputError(
      "function memory",
      `${memoryMb} MB; the snapshot function needs at least ${MIN_FUNCTION_MEMORY_MB} MB (about 100 MiB before the snapshot, 70 more during it)`,
    );
  }
  const part = Math.floor((memoryMb * MIB) / 1024 / 32) * 1024;
  return {
    partSizeBytes: Math.min(MAX_PART_BYTES, Math.max(MIN_PART_BYTES, part)),
    queueSize: memoryMb >= 1024 ? 4 : 2,
  };
}

export interface SnapshotUploaderOptions {
  readonly store: SnapshotStore;
  readonly tuning: UploadTuning;
  /** Bound on each status call. @default 3000 */
  readonly statusTimeoutMs?: number;
  /** Told when cleaning up after a failure fails (an abort refused): the failure itself is thrown. */
  readonly onWarning?: (message: string) => void;
}

export interface TakeSnapshotRequest {
  readonly source: SnapshotEndpoint;
  /** Who `source` must be: its status must name this member ID. */
  readonly member: SnapshotMember;
  /** The cluster the member belongs to: its token and ledger generation. */
  readonly token: string;
  readonly generation: number;
  /** Bound on the stream from etcd (and so on the whole upload): the function's remaining time less a margin. */
  readonly timeoutMs: number;
  /** Epoch milliseconds: when the snapshot begins (the key and the record carry it). */
  readonly now: () => number;
}

const DEFAULT_STATUS_TIMEOUT_MS = 3000;
/** A cancelled gRPC stream reports within milliseconds; this only bounds a stream that never does. */
const SETTLE_TIMEOUT_MS = 5000;

export class SnapshotUploader {
  private readonly store: SnapshotStore;
  private readonly statusTimeoutMs: number;

  constructor(private readonly options: SnapshotUploaderOptions) {
    const { partSizeBytes, queueSize } = options.tuning;
    if (!Number.isInteger(partSizeBytes) || partSizeBytes < MIN_PART_BYTES) {
      throw new InvalidSnapshotInputError("part size", `${partSizeBytes} bytes; S3 parts are at least 5 MiB`);
    }
    if (!Number.isInteger(queueSize) || queueSize < 1) {
      throw new InvalidSnapshotInputError("queue size", `${queueSize}; at least 1 part in flight`);
    }
    this.store = options.store;
    this.statusTimeoutMs = options.statusTimeoutMs ?? DEFAULT_STATUS_TIMEOUT_MS;
  }

  /**
   * Streams a snapshot of `request.member` into S3 and returns what the ledger records. Throws the
   * etcd adapter's errors (the member did not answer, the stream broke), the S3 translation's, a
   * `SnapshotIntegrityError` when the stream fails its checks, or `SnapshotSourceMismatchError`.
   */
  async take(request: TakeSnapshotRequest): Promise<SnapshotRecord> {
    const { source, member } = request;
    const before = await this.status(source, member);
    const takenAt = request.now();
    const key = snapshotKey({
      clusterName: this.store.clusterName,
      token: request.token,
      revision: before,
      takenAt,
    });
    // Once etcd sends its first bytes it has opened its read transaction: a revision read from
    // then on bounds the snapshot from above.
    let maxRevision: Promise<number | undefined> = Promise.resolve(undefined);
    const verifier = new SnapshotVerifier(() => {
      maxRevision = this.status(source, member).catch(() => undefined);
    });
    const response = await source.call(
      "snapshot",
      (client, options) => client.maintenance.snapshot(options),
      request.timeoutMs,
    );
    const stream = response as unknown as NodeJS.ReadableStream & { cancel?: () => void };
    stream.on("error", (error: Error) => verifier.destroy(translateEtcdError(error, "snapshot", source.url)));
    // etcd3 resets the member's channel when a stream fails (a cancel included); the reset must be
    // over before this call returns, or it would close the channel under the caller's next call.
    const settled = new Promise<void>((resolve) => {
      for (const event of ["end", "error", "close"]) stream.once(event, () => resolve());
    });
    stream.pipe(verifier);

    const upload = new Upload({
      client: this.store.s3,
      params: {
        Bucket: this.store.bucket,
        Key: key,
        Body: verifier,
        ContentType: "application/octet-stream",
        Metadata: {
          [METADATA.revision]: String(before),
          [METADATA.memberId]: member.memberId,
          [METADATA.instanceId]: member.instanceId,
          [METADATA.token]: request.token,
          [METADATA.generation]: String(request.generation),
          [METADATA.takenAt]: String(takenAt),
        },
      },
      partSize: this.options.tuning.partSizeBytes,
      queueSize: this.options.tuning.queueSize,
      // Aborted here, so that the failure that caused it is what the caller sees.
      leavePartsOnError: true,
    });
    try {
      await upload.done();
    } catch (error) {
      stream.cancel?.();
      verifier.destroy();
      await Promise.race([settled, sleep(SETTLE_TIMEOUT_MS, undefined, { ref: false })]);
      await this.abort(upload, key);
      throw this.failure(error, "upload", key);
    }
    const verified = verifier.verified;
    if (verified === undefined) {
      // Unreachable unless lib-storage completed an upload before its body ended.
      throw new SnapshotIntegrityError(`the upload of ${key} completed before the stream was checked`, key);
    }
    const ceiling = await maxRevision;
    await this.store.send("PutObjectTagging", key, () =>
      this.store.s3.send(
        new PutObjectTaggingCommand({
          Bucket: this.store.bucket,
          Key: key,
          Tagging: {
            TagSet: [
              { Key: TAGS.sha256, Value: verified.sha256 },
              ...(ceiling === undefined ? [] : [{ Key: TAGS.maxRevision, Value: String(ceiling) }]),
            ],
          },
        }),
      ),
    );
    return {
      key,
      token: request.token,
      generation: request.generation,
      revision: before,
      ...(ceiling === undefined ? {} : { maxRevision: ceiling }),
      size: verified.size,
      sha256: verified.sha256,
      member: { instanceId: member.instanceId, memberId: member.memberId },
      takenAt,
    };
  }

  /** The member's key-value revision, after checking that `source` is `member`. */
  private async status(source: SnapshotEndpoint, member: SnapshotMember): Promise<number> {
    const status: IStatusResponse = await source.call(
      "status",
      (client, options) => client.maintenance.status(options),
      this.statusTimeoutMs,
    );
    if (status.header.member_id !== member.memberId) {
      throw new SnapshotSourceMismatchError(source.url, member.memberId, status.header.member_id);
    }
    const revision = Number(status.header.revision);
    if (!Number.isSafeInteger(revision) || revision < 0) {
      throw translateEtcdError(
        new Error(`status reports revision ${status.header.revision}, not a whole number below 2^53`),
        "status",
        source.url,
      );
    }
    return revision;
  }

  private async abort(upload: Upload, key: string): Promise<void> {
    const uploadId = upload.uploadId;
    if (uploadId === undefined) return;
    try {
      await this.store.send("AbortMultipartUpload", key, () =>
        this.store.s3.send(
          new AbortMultipartUploadCommand({ Bucket: this.store.bucket, Key: key, UploadId: uploadId }),
        ),
      );
    } catch (error) {
      // The parts stay until the bucket's AbortIncompleteMultipartUpload rule removes them; no object exists.
      this.options.onWarning?.(
        `aborting upload ${uploadId} of ${key} failed: ${(error as Error).message}; the bucket's lifecycle rule removes its parts`,
      );
    }
  }

  private failure(error: unknown, operation: string, key: string): Error {
    if (error instanceof SnapshotStreamCheckError) {
      return new SnapshotIntegrityError(`snapshot ${key} failed its check: ${error.message}`, key);
    }
    if (error instanceof EtcdAsgError) return error;
    return translateS3Error(error, operation, this.store.bucket, key);
  }
}
