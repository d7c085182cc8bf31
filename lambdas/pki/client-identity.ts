// The control plane's own etcd identity: a client certificate with CN root (etcd's root user),
// signed by the client CA through KMS, for a P-256 key made in memory at cold start. The key is
// never written anywhere and dies with the container. The certificate is short-lived, renewed from
// two thirds of its lifetime on; while KMS is unavailable the current one is used until it expires.
import { generateKeyPairSync } from "node:crypto";
import { type CertificatePolicy, certificatePolicy, decideCertificate } from "../domain/certificates";
import type { CertificateAuthority } from "./certificate-authority";

/** What an etcd3 client needs: `credentials: { rootCertificate, privateKey, certChain }`. */
export interface ClientIdentity {
  /** PEM of the client certificate. */
  readonly certificatePem: string;
  /** PEM (PKCS#8) of its private key, in memory only. */
  readonly privateKeyPem: string;
  /** PEM of the client CA, which also signs etcd's server certificates: the client's trust root. */
  readonly caPem: string;
  readonly serialNumber: string;
  /** Epoch milliseconds. */
  readonly notAfter: number;
  readonly renewAt: number;
}

/** A fresh key and a control-plane certificate for it, issued by the client CA. */
export async function mintControlPlaneIdentity(
  clientCa: CertificateAuthority,
  now: number,
  policy: CertificatePolicy = certificatePolicy("control-plane"),
): Promise<ClientIdentity> {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const decision = decideCertificate({ kind: "control-plane" }, "ec", policy, now);
  const issued = await clientCa.issue(decision, publicKey.export({ format: "der", type: "spki" }));
  return {
    certificatePem: issued.pem,
    privateKeyPem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    caPem: clientCa.pem,
    serialNumber: issued.serialNumber,
    notAfter: issued.notAfter,
    renewAt: issued.renewAt,
  };
}

export interface RenewingIdentityOptions {
  /** Mints a new identity (mintControlPlaneIdentity with the client CA). */
  readonly mint: (now: number) => Promise<ClientIdentity>;
  readonly now: () => number;
  /** After a failed renewal, the current identity is used this long before the next try. @default 30 s */
  readonly retryAfterMs?: number;
}

/**
 * Hands out the current identity, minting a new one on first use and from `renewAt` on. Concurrent
 * callers share one mint. A renewal that fails while the current certificate is still valid is not
 * an error: the current one is returned and the renewal tried again later; once it has expired, the
 * failure is thrown (KMS errors keep their `retryable` tag).
 */
export class RenewingClientIdentity {
  private identity: ClientIdentity | undefined;
  private minting: Promise<ClientIdentity> | undefined;
  private nextTryAt = 0;
  private readonly retryAfterMs: number;

  constructor(private readonly options: RenewingIdentityOptions) {
    this.retryAfterMs = options.retryAfterMs ?? 30_000;
  }

  async current(): Promise<ClientIdentity> {
    const now = this.options.now();
    const held = this.identity;
    if (held !== undefined && now < held.renewAt) return held;
    if (held !== undefined && now < held.notAfter && now < this.nextTryAt) return held;
    try {
      return await this.renew(now);
    } catch (error) {
      if (held !== undefined && this.options.now() < held.notAfter) {
        this.nextTryAt = this.options.now() + this.retryAfterMs;
        return held;
      }
      throw error;
    }
  }

  private renew(now: number): Promise<ClientIdentity> {
    this.minting ??= this.options
      .mint(now)
      .then((identity) => {
        this.identity = identity;
        return identity;
      })
      .finally(() => {
        this.minting = undefined;
      });
    return this.minting;
  }
}
