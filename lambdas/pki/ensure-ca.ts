// Gets a certificate authority ready to issue: its published certificate when there is one, or a
// new self-signed one, created through KMS and published with one conditional write. When two
// functions create the same CA at once, both sign a certificate, one publication wins, and both
// use the winner's, so every node and client trusts one certificate per CA. Both paths need the
// store's answer and the key's public key: the two reads go out together (a cold start's first
// certificate waits for one round trip instead of two).
import type { PublishCaResult, PublishedCa } from "../adapters/ledger/certificate-authorities";
import { type CaKind, DEFAULT_CA_LIFETIME_MS, decideCaCertificate } from "../domain/certificates";
import { type CaKey, createCaCertificatePem } from "./ca-certificate";
import { CertificateAuthority } from "./certificate-authority";

/** Where CA certificates are published: a CertificateAuthorityLedger. */
export interface CaCertificateStore {
  get(kind: CaKind): Promise<PublishedCa | undefined>;
  publish(ca: PublishedCa): Promise<PublishCaResult>;
}

export interface EnsureCaOptions {
  readonly kind: CaKind;
  readonly clusterName: string;
  /** The CA's KMS key. */
  readonly key: CaKey;
  readonly store: CaCertificateStore;
  /** Epoch milliseconds. */
  readonly now: number;
  /** For a CA created now. @default DEFAULT_CA_LIFETIME_MS (10 years) */
  readonly lifetimeMs?: number;
}

export interface EnsuredCa {
  readonly ca: CertificateAuthority;
  /** This call created and published the CA certificate. */
  readonly created: boolean;
}

export async function ensureCertificateAuthority(options: EnsureCaOptions): Promise<EnsuredCa> {
  const { kind, key, store } = options;
  // Asked now, awaited where each path needs it (the key keeps the answer). A failed fetch is not
  // kept: that path asks again, so errors come in the order they did when the reads were one after
  // the other (the store's first).
  key.publicKey().catch(() => undefined);
  const published = await store.get(kind);
  if (published !== undefined) {
    return { ca: await CertificateAuthority.load(kind, published.certificatePem, key), created: false };
  }
  const decision = decideCaCertificate(
    options.clusterName,
    kind,
    options.now,
    options.lifetimeMs ?? DEFAULT_CA_LIFETIME_MS,
  );
  const certificatePem = await createCaCertificatePem(decision, key);
  const result = await store.publish({ kind, certificatePem, keyId: key.keyId, createdAt: options.now });
  return { ca: await CertificateAuthority.load(kind, result.ca.certificatePem, key), created: result.won };
}
