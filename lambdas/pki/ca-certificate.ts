// A certificate authority's own certificate, self-signed by its KMS key: made once per CA and
// published (the ledger's conditional write picks one if two are made at once).

import type { CaCertificateDecision } from "../domain/certificates";
import { authorityKeyIdentifier, keyUsages, subjectKeyIdentifier } from "./extensions";
import { type DigestSigner, kmsWebCrypto } from "./kms-crypto";
import { randomSerialNumber } from "./serial-number";
import { BasicConstraintsExtension, X509CertificateGenerator } from "./x509";

/** A CA's private key in KMS: a KmsSigningKey. */
export interface CaKey extends DigestSigner {
  readonly keyId: string;
  /** DER SubjectPublicKeyInfo, kept after the first answer (ensureCertificateAuthority asks early). */
  publicKey(): Promise<Uint8Array>;
}

/** PEM of a new self-signed CA certificate for `decision`, signed through KMS. */
export async function createCaCertificatePem(decision: CaCertificateDecision, key: CaKey): Promise<string> {
  const publicKey = await key.publicKey();
  const { signingKey, crypto } = kmsWebCrypto(key);
  const ski = await subjectKeyIdentifier(publicKey);
  const name = [{ CN: [decision.commonName] }];
  const certificate = await X509CertificateGenerator.create(
    {
      serialNumber: randomSerialNumber(),
      subject: name,
      issuer: name,
      notBefore: new Date(decision.notBefore),
      notAfter: new Date(decision.notAfter),
      publicKey,
      signingKey,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
      extensions: [
        new BasicConstraintsExtension(true, decision.pathLength, true),
        keyUsages(decision.keyUsages),
        ski,
        authorityKeyIdentifier(ski.keyId),
      ],
    },
    crypto,
  );
  return certificate.toString("pem");
}
