// The certificate authority's errors: a CSR it will not sign, and a CA that cannot be used as it is.
import { EtcdAsgError } from "../errors";

export class PkiError extends EtcdAsgError {
  override readonly name: string = "PkiError";
}

/** The CSR is not one this CA signs; the message names what is wrong. Asking again won't help. */
export class CsrRejectedError extends PkiError {
  override readonly name = "CsrRejectedError";
  constructor(problem: string, cause?: unknown) {
    super(`certificate signing request rejected: ${problem}`, { cause, retryable: false });
  }
}

/** The published CA certificate is not for the KMS key configured as its private key (a key was
 * replaced, or the ledger belongs to another deployment): certificates it signed would not chain. */
export class CaKeyMismatchError extends PkiError {
  override readonly name = "CaKeyMismatchError";
  constructor(
    readonly ca: string,
    readonly keyId: string,
  ) {
    super(`the published ${ca} CA certificate does not hold the public key of KMS key ${keyId}`);
  }
}

/** The certificate read back is not a CA certificate of this kind. */
export class InvalidCaCertificateError extends PkiError {
  override readonly name = "InvalidCaCertificateError";
  constructor(ca: string, problem: string) {
    super(`the published ${ca} CA certificate is not usable: ${problem}`);
  }
}

/** The CA expires before a certificate it would issue: the CA has to be replaced first. */
export class CaExpiresTooSoonError extends PkiError {
  override readonly name = "CaExpiresTooSoonError";
  constructor(ca: string, caNotAfter: Date, wanted: Date) {
    super(
      `the ${ca} CA expires at ${caNotAfter.toISOString()}, before a certificate valid until ${wanted.toISOString()}`,
    );
  }
}
