// A certificate authority ready to issue: its published certificate, checked against its KMS key
// (the certificate must hold that key's public key and say CA:true), and the
// issuance of end-entity certificates from a decision and a requester's public key.

import type { CaKind, CertificateDecision } from "../domain/certificates";
import type { CaKey } from "./ca-certificate";
import { CaExpiresTooSoonError, CaKeyMismatchError, InvalidCaCertificateError } from "./errors";
import { authorityKeyIdentifier, extendedKeyUsages, keyUsages, subjectKeyIdentifier } from "./extensions";
import { type KmsWebCrypto, kmsWebCrypto } from "./kms-crypto";
import { randomSerialNumber } from "./serial-number";
import {
  BasicConstraintsExtension,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate,
  X509CertificateGenerator,
} from "./x509";

export interface IssuedCertificate {
  readonly pem: string;
  /** Hexadecimal, as `openssl x509 -serial` prints it (lower case). */
  readonly serialNumber: string;
  /** Epoch milliseconds. */
  readonly notBefore: number;
  readonly notAfter: number;
  readonly renewAt: number;
}

export class CertificateAuthority {
  private constructor(
    readonly kind: CaKind,
    readonly certificate: X509Certificate,
    readonly pem: string,
    /** The KMS key that signs for this CA. */
    readonly keyId: string,
    private readonly webCrypto: KmsWebCrypto,
    private readonly keyIdentifier: string,
  ) {}

  /** The CA whose published certificate is `pem` and whose private key is `key`. Throws when they
   * do not belong together or the certificate is not a CA certificate. */
  static async load(kind: CaKind, pem: string, key: CaKey): Promise<CertificateAuthority> {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(pem);
    } catch (error) {
      throw new InvalidCaCertificateError(kind, `it does not parse (${(error as Error).message})`);
    }
    const constraints = certificate.getExtension(BasicConstraintsExtension);
    if (constraints?.ca !== true)
      throw new InvalidCaCertificateError(kind, "basicConstraints does not say CA:true");
    const expected = Buffer.from(await key.publicKey());
    if (!expected.equals(Buffer.from(certificate.publicKey.rawData)))
      throw new CaKeyMismatchError(kind, key.keyId);
    const ski = certificate.getExtension(SubjectKeyIdentifierExtension)?.keyId;
    const keyIdentifier = ski ?? (await subjectKeyIdentifier(expected)).keyId;
    return new CertificateAuthority(kind, certificate, pem, key.keyId, kmsWebCrypto(key), keyIdentifier);
  }

  /** Signs (through KMS) the certificate `decision` describes for the holder of `subjectPublicKey`
   * (DER SubjectPublicKeyInfo, from a verified CSR or an in-memory key). */
  async issue(decision: CertificateDecision, subjectPublicKey: Uint8Array): Promise<IssuedCertificate> {
    if (decision.ca !== this.kind) {
      throw new RangeError(
        `a ${decision.kind} certificate is signed by the ${decision.ca} CA, not the ${this.kind} CA`,
      );
    }
    if (decision.notAfter > this.certificate.notAfter.getTime()) {
      throw new CaExpiresTooSoonError(this.kind, this.certificate.notAfter, new Date(decision.notAfter));
    }
    const names = [
      ...decision.ipAddresses.map((value) => ({ type: "ip" as const, value })),
      ...decision.dnsNames.map((value) => ({ type: "dns" as const, value })),
    ];
    const certificate = await X509CertificateGenerator.create(
      {
        serialNumber: randomSerialNumber(),
        subject: [{ CN: [decision.commonName] }],
        issuer: this.certificate.subjectName,
        notBefore: new Date(decision.notBefore),
        notAfter: new Date(decision.notAfter),
        publicKey: subjectPublicKey,
        signingKey: this.webCrypto.signingKey,
        signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
        extensions: [
          new BasicConstraintsExtension(false, undefined, true),
          keyUsages(decision.keyUsages),
          extendedKeyUsages(decision.extendedKeyUsages),
          ...(names.length === 0 ? [] : [new SubjectAlternativeNameExtension(names, false)]),
          await subjectKeyIdentifier(subjectPublicKey),
          authorityKeyIdentifier(this.keyIdentifier),
        ],
      },
      this.webCrypto.crypto,
    );
    return {
      pem: certificate.toString("pem"),
      serialNumber: certificate.serialNumber.toLowerCase(),
      notBefore: decision.notBefore,
      notAfter: decision.notAfter,
      renewAt: decision.renewAt,
    };
  }
}
