// Lets @peculiar/x509 sign certificates with a key held in KMS. The library signs through a
// WebCrypto provider: `crypto.subtle.sign(algorithm, signingKey, tbs)` returning r‖s. So the
// signing key is a CryptoKey-shaped handle (no key material in it) and the provider is node's
// WebCrypto with `sign` answered for that handle by hashing the TBS here and asking KMS to sign the
// digest; KMS's DER signature is turned into r‖s in ecdsa-signature.ts. Every other call (other
// keys, digests, random values) goes to node's WebCrypto unchanged.
import { createHash, webcrypto } from "node:crypto";
import { derToRawEcdsa, P256_SCALAR_BYTES } from "./ecdsa-signature";

/** What signs a SHA-256 digest, returning a DER ECDSA signature: a KmsSigningKey. */
export interface DigestSigner {
  signDigest(digest: Uint8Array): Promise<Uint8Array>;
}

/** The only algorithm a KMS-held CA key signs with here: ECDSA P-256 with SHA-256. */
export const KMS_KEY_ALGORITHM: webcrypto.EcKeyAlgorithm = { name: "ECDSA", namedCurve: "P-256" };

export class UnsupportedSigningAlgorithmError extends Error {
  override readonly name = "UnsupportedSigningAlgorithmError";
}

export interface KmsWebCrypto {
  /** Pass as `signingKey` to X509CertificateGenerator.create. */
  readonly signingKey: webcrypto.CryptoKey;
  /** Pass as its `crypto` argument. */
  readonly crypto: webcrypto.Crypto;
}

export function kmsWebCrypto(signer: DigestSigner): KmsWebCrypto {
  const signingKey: webcrypto.CryptoKey = {
    algorithm: KMS_KEY_ALGORITHM,
    type: "private",
    extractable: false,
    usages: ["sign"],
  };
  const sign = async (
    algorithm: webcrypto.AlgorithmIdentifier | webcrypto.EcdsaParams,
    key: webcrypto.CryptoKey,
    data: webcrypto.BufferSource,
  ): Promise<ArrayBuffer> => {
    if (key !== signingKey) return webcrypto.subtle.sign(algorithm, key, data);
    requireEcdsaSha256(algorithm);
    const digest = createHash("sha256").update(bytesOf(data)).digest();
    const raw = derToRawEcdsa(await signer.signDigest(digest), P256_SCALAR_BYTES);
    return raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;
  };
  const subtle = new Proxy(webcrypto.subtle, {
    get: (target, property) => (property === "sign" ? sign : bound(target, property)),
  });
  const crypto = new Proxy(webcrypto, {
    get: (target, property) => (property === "subtle" ? subtle : bound(target, property)),
  });
  return { signingKey, crypto };
}

/** A property of node's WebCrypto objects, methods bound to them (they check `this`). */
function bound(target: object, property: string | symbol): unknown {
  const value: unknown = Reflect.get(target, property, target);
  return typeof value === "function" ? value.bind(target) : value;
}

function requireEcdsaSha256(algorithm: webcrypto.AlgorithmIdentifier | webcrypto.EcdsaParams): void {
  const name = typeof algorithm === "string" ? algorithm : algorithm.name;
  const hash = typeof algorithm === "object" && "hash" in algorithm ? algorithm.hash : undefined;
  const hashName = typeof hash === "string" ? hash : hash?.name;
  if (name.toUpperCase() !== "ECDSA" || hashName?.toUpperCase() !== "SHA-256") {
    throw new UnsupportedSigningAlgorithmError(
      `a KMS-held CA key signs with ECDSA and SHA-256 only; asked for ${name} with ${hashName ?? "no hash"}`,
    );
  }
}

function bytesOf(data: webcrypto.BufferSource): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
