// The one place where errors of the S3 SDK client (and lib-storage's uploads) become typed errors.
// S3's own refusals that callers act on get their own classes; S3's names for throttling and passing
// failures are retryable; everything else (5xx, the network, other refusals) is classified as for
// every AWS call.
import { AwsAdapterError, AwsThrottledError, AwsUnavailableError } from "../aws/errors";
import { translateAwsError } from "../aws/translate";
import { SnapshotAccessDeniedError, SnapshotBucketNotFoundError, SnapshotNotFoundError } from "./errors";

/** S3's throttling ("reduce your request rate"). */
const THROTTLING = new Set(["SlowDown", "Throttling", "ThrottlingException", "TooManyRequestsException"]);
/** S3's passing failures: its documentation says to retry them. */
const PASSING = new Set(["InternalError", "ServiceUnavailable", "RequestTimeout", "OperationAborted"]);
const ACCESS_DENIED = new Set([
  "AccessDenied",
  "AllAccessDisabled",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "InvalidToken",
  "AccountProblem",
]);

interface S3ErrorFields {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/** `operation` names the call for the message (e.g. `UploadPart`); `bucket` and `key` what it was about. */
export function translateS3Error(
  error: unknown,
  operation: string,
  bucket: string,
  key?: string,
): AwsAdapterError {
  if (error instanceof AwsAdapterError) return error;
  const fields: S3ErrorFields = typeof error === "object" && error !== null ? error : {};
  const name = typeof fields.name === "string" ? fields.name : "Error";
  const detail = typeof fields.message === "string" ? fields.message : String(error);
  const where = key === undefined ? `s3://${bucket}` : `s3://${bucket}/${key}`;
  const what = `S3 ${operation} on ${where} failed: ${name}: ${detail}`;
  if (THROTTLING.has(name)) return new AwsThrottledError(what, error);
  if (PASSING.has(name)) return new AwsUnavailableError(what, error);
  // A refused HEAD has no body to name the code: its 403 is all there is.
  if (ACCESS_DENIED.has(name) || fields.$metadata?.httpStatusCode === 403) {
    return new SnapshotAccessDeniedError(what, error);
  }
  if (name === "NoSuchBucket") return new SnapshotBucketNotFoundError(what, bucket, error);
  // A HEAD has no body: S3's 404 reaches the SDK as NotFound.
  if (name === "NoSuchKey" || (name === "NotFound" && key !== undefined)) {
    return new SnapshotNotFoundError(what, key ?? "", error);
  }
  return translateAwsError(error, `S3 ${operation} on ${where}`);
}
