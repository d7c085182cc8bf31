// The snapshot adapter's errors. S3's refusals are AWS adapter errors (aws/errors.ts) with classes of
// their own where a caller or an alarm acts on them; a snapshot that fails its checks, or a member
// that is not the one expected, is the adapter's own finding. `translate.ts` is the one place S3
// errors are made; etcd's are the etcd adapter's (translateEtcdError).
import { EtcdAsgError } from "../../errors";
import { AwsAdapterError } from "../aws/errors";

/** The bucket does not exist (or is another account's): a configuration problem. */
export class SnapshotBucketNotFoundError extends AwsAdapterError {
  override readonly name = "SnapshotBucketNotFoundError";
  constructor(
    message: string,
    readonly bucket: string,
    cause: unknown,
  ) {
    super(message, { cause, retryable: false });
  }
}

/** IAM, the bucket policy or S3 refused the caller: its role lacks a permission this call needs. */
export class SnapshotAccessDeniedError extends AwsAdapterError {
  override readonly name = "SnapshotAccessDeniedError";
  constructor(message: string, cause: unknown) {
    super(message, { cause, retryable: false });
  }
}

/** No object has this key. */
export class SnapshotNotFoundError extends AwsAdapterError {
  override readonly name = "SnapshotNotFoundError";
  constructor(
    message: string,
    readonly key: string,
    cause: unknown,
  ) {
    super(message, { cause, retryable: false });
  }
}

/**
 * The stream etcd sent is not a database followed by its SHA-256: a byte changed on the way, the
 * stream ended early, or the member's database is broken. The upload was aborted before it
 * completed, so no object exists under the key. The next scheduled snapshot tries again.
 */
export class SnapshotIntegrityError extends EtcdAsgError {
  override readonly name = "SnapshotIntegrityError";
  constructor(
    message: string,
    readonly key: string,
  ) {
    super(message, { retryable: false });
  }
}

/** The client URL answered as another member than the one the snapshot was meant to come from (its
 * IP was reused, or the caller's member list is stale). Nothing was streamed. */
export class SnapshotSourceMismatchError extends EtcdAsgError {
  override readonly name = "SnapshotSourceMismatchError";
  constructor(
    readonly url: string,
    readonly expectedMemberId: string,
    readonly actualMemberId: string,
  ) {
    super(`${url} answers as member ${actualMemberId}, not ${expectedMemberId}: no snapshot taken`, {
      retryable: false,
    });
  }
}

/** The caller passed a value the adapter cannot use; nothing was sent. */
export class InvalidSnapshotInputError extends EtcdAsgError {
  override readonly name = "InvalidSnapshotInputError";
  constructor(what: string, problem: string) {
    super(`invalid ${what}: ${problem}`, { retryable: false });
  }
}
