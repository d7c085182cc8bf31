// The one place where errors of the AWS SDK clients (and the network under them) become the AWS
// adapter's typed errors, tagged retryable when the same call may succeed later.
import { AwsAdapterError, AwsRequestError, AwsThrottledError, AwsUnavailableError } from "./errors";

const THROTTLING_CODES = new Set([
  "Throttling",
  "ThrottlingException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
]);

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

const NETWORK_NAMES = new Set(["TimeoutError", "RequestTimeout", "RequestTimeoutException"]);

interface SdkErrorFields {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/** `operation` names the call for the message, e.g. `CompleteLifecycleAction`. */
export function translateAwsError(error: unknown, operation: string): AwsAdapterError {
  if (error instanceof AwsAdapterError) return error;
  const fields: SdkErrorFields = typeof error === "object" && error !== null ? error : {};
  const name = typeof fields.name === "string" ? fields.name : "Error";
  const detail = typeof fields.message === "string" ? fields.message : String(error);
  const status = fields.$metadata?.httpStatusCode;
  const what = `${operation} failed: ${name}: ${detail}`;
  if (THROTTLING_CODES.has(name)) return new AwsThrottledError(what, error);
  if (status !== undefined && status >= 500) return new AwsUnavailableError(what, error);
  if (status !== undefined) return new AwsRequestError(what, name, error);
  if (NETWORK_NAMES.has(name) || (typeof fields.code === "string" && NETWORK_CODES.has(fields.code))) {
    return new AwsUnavailableError(what, error);
  }
  // No answer from AWS and not a known network failure (e.g. no credentials): a setup problem.
  return new AwsAdapterError(what, { cause: error, retryable: false });
}

/** Auto Scaling's answer when the lifecycle action was already completed (or timed out). */
export function isNoActiveLifecycleAction(error: unknown): boolean {
  return (
    error instanceof Error &&
    error.name === "ValidationError" &&
    error.message.startsWith("No active Lifecycle Action found")
  );
}
