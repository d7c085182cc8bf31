// The one place where errors of the KMS SDK client (and the network under it) become the KMS
// adapter's typed errors, tagged retryable when the same call may succeed later.
import {
  KmsAccessDeniedError,
  KmsError,
  KmsKeyDisabledError,
  KmsKeyNotFoundError,
  KmsRequestError,
  KmsUnavailableError,
} from "./errors";

/** KMS's own passing failures: its documentation says to retry them. */
const UNAVAILABLE_CODES = new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "KMSInternalException",
  "KeyUnavailableException",
  "DependencyTimeoutException",
  "InternalFailure",
  "ServiceUnavailable",
]);

const ACCESS_DENIED_CODES = new Set(["AccessDeniedException", "AccessDenied", "NotAuthorizedException"]);
const DISABLED_CODES = new Set(["DisabledException", "KMSInvalidStateException"]);

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
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

/** `operation` names the call for the message, e.g. `Sign`; `keyId` the key it was about. */
export function translateKmsError(error: unknown, operation: string, keyId: string): KmsError {
  if (error instanceof KmsError) return error;
  const fields: SdkErrorFields = typeof error === "object" && error !== null ? error : {};
  const name = typeof fields.name === "string" ? fields.name : "Error";
  const detail = typeof fields.message === "string" ? fields.message : String(error);
  const status = fields.$metadata?.httpStatusCode;
  const what = `KMS ${operation} with key ${keyId} failed: ${name}: ${detail}`;
  if (UNAVAILABLE_CODES.has(name)) return new KmsUnavailableError(what, error);
  if (ACCESS_DENIED_CODES.has(name)) return new KmsAccessDeniedError(what, error);
  if (name === "NotFoundException") return new KmsKeyNotFoundError(what, keyId, error);
  if (DISABLED_CODES.has(name)) return new KmsKeyDisabledError(what, keyId, error);
  if (status !== undefined && status >= 500) return new KmsUnavailableError(what, error);
  if (status !== undefined) return new KmsRequestError(what, name, error);
  if (NETWORK_NAMES.has(name) || (typeof fields.code === "string" && NETWORK_CODES.has(fields.code))) {
    return new KmsUnavailableError(what, error);
  }
  // No answer from KMS and not a known network failure (e.g. no credentials): a setup problem.
  return new KmsError(what, { cause: error, retryable: false });
}
