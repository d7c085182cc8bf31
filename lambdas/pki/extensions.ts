// X.509 extensions from the decision's words, so the CA certificate and the certificates it issues
// spell key usages, extended key usages and key identifiers the same way.

import type { ExtendedKeyUsage as ExtendedKeyUsageName, KeyUsage } from "../domain/certificates";
import {
  AuthorityKeyIdentifierExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectKeyIdentifierExtension,
} from "./x509";

const KEY_USAGE_FLAGS: Readonly<Record<KeyUsage, KeyUsageFlags>> = {
  digitalSignature: KeyUsageFlags.digitalSignature,
  keyEncipherment: KeyUsageFlags.keyEncipherment,
  keyCertSign: KeyUsageFlags.keyCertSign,
  cRLSign: KeyUsageFlags.cRLSign,
};

const EXTENDED_KEY_USAGE_OIDS: Readonly<Record<ExtendedKeyUsageName, ExtendedKeyUsage>> = {
  serverAuth: ExtendedKeyUsage.serverAuth,
  clientAuth: ExtendedKeyUsage.clientAuth,
};

/** Critical, as RFC 5280 recommends: a verifier that cannot read it must not accept the certificate. */
export function keyUsages(usages: readonly KeyUsage[]): KeyUsagesExtension {
  return new KeyUsagesExtension(
    usages.reduce((flags, usage) => flags | KEY_USAGE_FLAGS[usage], 0),
    true,
  );
}

export function extendedKeyUsages(usages: readonly ExtendedKeyUsageName[]): ExtendedKeyUsageExtension {
  return new ExtendedKeyUsageExtension(
    usages.map((usage) => EXTENDED_KEY_USAGE_OIDS[usage]),
    false,
  );
}

/** The subject key identifier (SHA-1 of the key, RFC 5280's method 1) of a DER SubjectPublicKeyInfo. */
export async function subjectKeyIdentifier(spki: Uint8Array): Promise<SubjectKeyIdentifierExtension> {
  return SubjectKeyIdentifierExtension.create(spki);
}

/** Points at the issuer's key, so a verifier finds the issuer by key rather than by name alone. */
export function authorityKeyIdentifier(issuerKeyId: string): AuthorityKeyIdentifierExtension {
  return new AuthorityKeyIdentifierExtension(issuerKeyId, false);
}
