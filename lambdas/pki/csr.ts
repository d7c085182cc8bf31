// Reads a node's or a user's certificate signing request (PKCS#10, PEM): checks that the key is
// one etcd's peers and clients handle well (EC P-256, or RSA of at least 2048 bits) and that the
// CSR is signed by that key (proof that the requester holds the private key). Only the public key
// is used afterwards: the subject and any extension the CSR asks for (SANs) are never read.
import { createPublicKey } from "node:crypto";
import type { PublicKeyFamily } from "../domain/certificates";
import { CsrRejectedError } from "./errors";
import { Pkcs10CertificateRequest } from "./x509";

/** A CSR is a few hundred bytes; anything much larger is not one. */
const MAX_CSR_PEM_CHARS = 16 * 1024;
const MIN_RSA_BITS = 2048;

export interface VerifiedCsr {
  /** DER SubjectPublicKeyInfo of the requester's key. */
  readonly publicKey: Uint8Array;
  readonly family: PublicKeyFamily;
}

export async function verifyCsr(pem: string): Promise<VerifiedCsr> {
  if (typeof pem !== "string" || pem.length > MAX_CSR_PEM_CHARS) {
    throw new CsrRejectedError(`a CSR is PEM text of at most ${MAX_CSR_PEM_CHARS} characters`);
  }
  if (!/-----BEGIN (NEW )?CERTIFICATE REQUEST-----/.test(pem)) {
    throw new CsrRejectedError("no PEM block 'BEGIN CERTIFICATE REQUEST' (make one with `openssl req -new`)");
  }
  let csr: Pkcs10CertificateRequest;
  try {
    csr = new Pkcs10CertificateRequest(pem);
  } catch (error) {
    throw new CsrRejectedError(
      `it is not a PKCS#10 certificate request (${(error as Error).message})`,
      error,
    );
  }
  const publicKey = new Uint8Array(csr.publicKey.rawData);
  const family = keyFamily(publicKey);
  let verified: boolean;
  try {
    verified = await csr.verify();
  } catch (error) {
    throw new CsrRejectedError(`its self-signature cannot be checked (${(error as Error).message})`, error);
  }
  if (!verified) {
    throw new CsrRejectedError(
      "its self-signature does not verify: it was altered, or not signed by the key it holds",
    );
  }
  return { publicKey, family };
}

function keyFamily(spki: Uint8Array): PublicKeyFamily {
  let key: ReturnType<typeof createPublicKey>;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
  } catch (error) {
    throw new CsrRejectedError(`its public key cannot be read (${(error as Error).message})`, error);
  }
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === "ec") {
    if (details.namedCurve === "prime256v1") return "ec";
    throw new CsrRejectedError(
      `its key is EC on curve ${details.namedCurve ?? "unknown"}; use P-256 (openssl: -newkey ec -pkeyopt ec_paramgen_curve:P-256)`,
    );
  }
  if (key.asymmetricKeyType === "rsa") {
    const bits = details.modulusLength ?? 0;
    if (bits >= MIN_RSA_BITS) return "rsa";
    throw new CsrRejectedError(
      `its key is RSA of ${bits} bits; use EC P-256 or RSA of at least ${MIN_RSA_BITS} bits`,
    );
  }
  throw new CsrRejectedError(
    `its key is ${key.asymmetricKeyType ?? "of an unknown type"}; use EC P-256 or RSA of at least ${MIN_RSA_BITS} bits`,
  );
}
