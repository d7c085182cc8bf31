// The KMS adapter's errors. `translate.ts` is the one place where SDK and network errors become
// them; the retryable ones say so.
import { EtcdAsgError } from "../../errors";

/** Base of every error the KMS adapter throws. */
export class KmsError extends EtcdAsgError {
  override readonly name: string = "KmsError";
}

/** KMS throttled the call, failed inside (KMSInternal, KeyUnavailable, DependencyTimeout, a 5xx), or
 * the network failed before an answer. The same call may succeed later. */
export class KmsUnavailableError extends KmsError {
  override readonly name = "KmsUnavailableError";
  constructor(message: string, cause: unknown) {
    super(message, { cause, retryable: true });
  }
}

/** The caller's role may not use the key (IAM or the key policy). Retrying won't help. */
export class KmsAccessDeniedError extends KmsError {
  override readonly name = "KmsAccessDeniedError";
  constructor(message: string, cause: unknown) {
    super(message, { cause, retryable: false });
  }
}

/** The key (or alias) does not exist in this account and region. */
export class KmsKeyNotFoundError extends KmsError {
  override readonly name = "KmsKeyNotFoundError";
  constructor(
    message: string,
    readonly keyId: string,
    cause: unknown,
  ) {
    super(message, { cause, retryable: false });
  }
}

/** The key is disabled or pending deletion: an operator has to act. */
export class KmsKeyDisabledError extends KmsError {
  override readonly name = "KmsKeyDisabledError";
  constructor(
    message: string,
    readonly keyId: string,
    cause: unknown,
  ) {
    super(message, { cause, retryable: false });
  }
}

/** KMS refused the request itself (invalid parameters, wrong key usage or algorithm). */
export class KmsRequestError extends KmsError {
  override readonly name = "KmsRequestError";
  constructor(
    message: string,
    /** KMS's error code, e.g. `ValidationException`, `InvalidKeyUsageException`. */
    readonly code: string,
    cause: unknown,
  ) {
    super(message, { cause, retryable: false });
  }
}

/** The key exists but is not an ECC_NIST_P256 signing key, which a certificate authority here needs. */
export class KmsUnsuitableKeyError extends KmsError {
  override readonly name = "KmsUnsuitableKeyError";
  constructor(
    readonly keyId: string,
    found: string,
  ) {
    super(
      `KMS key ${keyId} is ${found}; a certificate authority needs KeySpec ECC_NIST_P256 with KeyUsage SIGN_VERIFY`,
    );
  }
}
