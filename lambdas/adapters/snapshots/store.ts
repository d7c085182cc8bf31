// The snapshot bucket seen from the control plane: list one cluster's snapshots, read what one
// object says about itself (metadata at upload, hash tag after its checks), delete those retention
// lets go, and presign a short-lived GET for a node restoring one (the node role has no S3 rights).
// Every S3 call goes through `send`, the one place its errors are translated.
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { SnapshotRecord } from "../../domain/durability";
import { InvalidSnapshotInputError } from "./errors";
import { clusterPrefix, parseSnapshotKey } from "./keys";
import { translateS3Error } from "./translate";

/** User metadata written with each object (x-amz-meta-*), known before the stream starts. */
export const METADATA = {
  revision: "revision",
  memberId: "member-id",
  instanceId: "instance-id",
  token: "cluster-token",
  generation: "generation",
  takenAt: "taken-at",
} as const;

/** Tags set once the stream has passed its checks: what is only known at its end. */
export const TAGS = { sha256: "sha256", maxRevision: "max-revision" } as const;

/** One object a listing found under the cluster's prefix, with what its key says. */
export interface ListedSnapshot {
  readonly key: string;
  readonly token: string;
  readonly revision: number;
  readonly takenAt: number;
  readonly size: number;
}

/** DeleteObjects takes at most this many keys. */
const DELETE_BATCH = 1000;
const PRESIGN_MAX_SECONDS = 3600;

export class SnapshotStore {
  constructor(
    /** Built once per container by the caller, its endpoint from AWS_ENDPOINT_URL_S3 where set. */
    readonly s3: S3Client,
    readonly bucket: string,
    readonly clusterName: string,
  ) {
    if (bucket.length === 0) throw new InvalidSnapshotInputError("bucket", "it is empty");
    clusterPrefix(clusterName);
  }

  /** Every snapshot object of this cluster (all generations), oldest key first. Other keys are skipped. */
  async list(): Promise<ListedSnapshot[]> {
    const found: ListedSnapshot[] = [];
    let token: string | undefined;
    do {
      const page = await this.send("ListObjectsV2", undefined, () =>
        this.s3.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: clusterPrefix(this.clusterName),
            ContinuationToken: token,
          }),
        ),
      );
      for (const object of page.Contents ?? []) {
        const parts = object.Key === undefined ? undefined : parseSnapshotKey(object.Key);
        if (object.Key === undefined || parts === undefined || parts.clusterName !== this.clusterName)
          continue;
        const { token: clusterToken, revision, takenAt } = parts;
        found.push({ key: object.Key, token: clusterToken, revision, takenAt, size: object.Size ?? 0 });
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return found;
  }

  /**
   * The record of one object, from its metadata and its hash tag. Undefined when the object lacks
   * the hash tag (its upload was cut short after completion, before the tag): it was never checked.
   * Throws `SnapshotNotFoundError` when there is no such object.
   */
  async describe(key: string): Promise<SnapshotRecord | undefined> {
    const head = await this.send("HeadObject", key, () =>
      this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })),
    );
    const tagging = await this.send("GetObjectTagging", key, () =>
      this.s3.send(new GetObjectTaggingCommand({ Bucket: this.bucket, Key: key })),
    );
    const tags = new Map((tagging.TagSet ?? []).map((tag) => [tag.Key ?? "", tag.Value ?? ""]));
    const meta = head.Metadata ?? {};
    const sha256 = tags.get(TAGS.sha256);
    const revision = wholeNumber(meta[METADATA.revision]);
    const generation = wholeNumber(meta[METADATA.generation]);
    const takenAt = wholeNumber(meta[METADATA.takenAt]);
    const token = meta[METADATA.token];
    const memberId = meta[METADATA.memberId];
    const instanceId = meta[METADATA.instanceId];
    if (
      sha256 === undefined ||
      !/^[0-9a-f]{64}$/.test(sha256) ||
      revision === undefined ||
      generation === undefined ||
      takenAt === undefined ||
      token === undefined ||
      memberId === undefined ||
      instanceId === undefined
    ) {
      return undefined;
    }
    const maxRevision = wholeNumber(tags.get(TAGS.maxRevision));
    return {
      key,
      token,
      generation,
      revision,
      ...(maxRevision === undefined ? {} : { maxRevision }),
      size: head.ContentLength ?? 0,
      sha256,
      member: { instanceId, memberId },
      takenAt,
    };
  }

  /** Deletes the objects (the current version; a versioned bucket keeps the old one until its
   * lifecycle rule expires it). Returns the keys S3 refused, with its reasons. */
  async delete(keys: readonly string[]): Promise<{ key: string; reason: string }[]> {
    const refused: { key: string; reason: string }[] = [];
    for (let start = 0; start < keys.length; start += DELETE_BATCH) {
      const batch = keys.slice(start, start + DELETE_BATCH);
      const answer = await this.send("DeleteObjects", undefined, () =>
        this.s3.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      for (const error of answer.Errors ?? []) {
        refused.push({ key: error.Key ?? "", reason: `${error.Code ?? "Error"}: ${error.Message ?? ""}` });
      }
    }
    return refused;
  }

  /**
   * A GET URL for one snapshot that works for `expiresInSeconds` without credentials: what the node
   * API hands a restoring node. Signed with the caller's role, which needs s3:GetObject on the key.
   * Checks that the object exists first, so a node is never sent after a key that is not there.
   */
  async presignedGet(key: string, expiresInSeconds: number): Promise<string> {
    if (
      !Number.isInteger(expiresInSeconds) ||
      expiresInSeconds < 1 ||
      expiresInSeconds > PRESIGN_MAX_SECONDS
    ) {
      throw new InvalidSnapshotInputError(
        "URL lifetime",
        `${expiresInSeconds} s; a restore URL lives 1 to ${PRESIGN_MAX_SECONDS} s`,
      );
    }
    await this.send("HeadObject", key, () =>
      this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })),
    );
    return this.send("presign GetObject", key, () =>
      getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
        expiresIn: expiresInSeconds,
      }),
    );
  }

  /** Runs one S3 call and translates what it throws. */
  async send<T>(operation: string, key: string | undefined, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw translateS3Error(error, operation, this.bucket, key);
    }
  }
}

function wholeNumber(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,16}$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}
