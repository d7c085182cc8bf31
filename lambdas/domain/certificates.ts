// What a certificate says, decided from who asks and the time: subject, SANs, key usages, validity
// and when to renew. The issuer builds exactly this and nothing else, so a node asking (in its CSR)
// for another instance's IP or name gets its own SANs only: nothing here reads the CSR's extensions.
// Pure: `now` comes in, nothing is random.

/** Which certificate: a node's peer or server certificate, a user's client certificate, or the
 * control plane's own client certificate (CN `root`, etcd's root user). */
export type CertificateKind = "peer" | "server" | "client" | "control-plane";

/** Which certificate authority signs it. The peer CA signs what etcd presents and trusts on 2380;
 * the client CA everything on 2379 (servers' certificates and clients'), so a client trusts one CA
 * file and etcd's `--trusted-ca-file` is that same CA. */
export type CaKind = "peer" | "client";

export type KeyUsage = "digitalSignature" | "keyEncipherment" | "keyCertSign" | "cRLSign";
export type ExtendedKeyUsage = "serverAuth" | "clientAuth";

/** The family of the subject's public key: RSA keys also get keyEncipherment (RSA key transport). */
export type PublicKeyFamily = "ec" | "rsa";

export interface NodeIdentity {
  /** The EC2 instance ID: the certificate's CN, and the etcd member's name. */
  readonly instanceId: string;
  /** The instance's primary private IP: the only IP SAN. */
  readonly privateIp: string;
}

export type CertificateRequest =
  | { readonly kind: "peer"; readonly node: NodeIdentity }
  | {
      readonly kind: "server";
      readonly node: NodeIdentity;
      /** The cluster's client DNS name, once it exists: a DNS SAN, with `<instance-id>.<name>`. */
      readonly clientDnsName?: string | undefined;
    }
  | {
      readonly kind: "client";
      /** The etcd user the certificate authenticates as (etcd takes the CN as the user name). */
      readonly user: string;
    }
  | { readonly kind: "control-plane" };

export interface CertificatePolicy {
  /** From issuance to notAfter. */
  readonly lifetimeMs: number;
  /** notBefore is this much before `now`, so a verifier whose clock is a little behind accepts it. */
  readonly clockSkewMs: number;
}

export interface CertificateDecision {
  readonly kind: CertificateKind;
  readonly ca: CaKind;
  readonly commonName: string;
  readonly ipAddresses: readonly string[];
  readonly dnsNames: readonly string[];
  readonly keyUsages: readonly KeyUsage[];
  readonly extendedKeyUsages: readonly ExtendedKeyUsage[];
  /** Epoch milliseconds. */
  readonly notBefore: number;
  readonly notAfter: number;
  /** Two thirds of the lifetime after issuance: the holder gets a new certificate from then on. */
  readonly renewAt: number;
}

export interface CaCertificateDecision {
  readonly ca: CaKind;
  readonly commonName: string;
  /** Only end-entity certificates below the CA (pathlen 0). */
  readonly pathLength: 0;
  readonly keyUsages: readonly KeyUsage[];
  readonly notBefore: number;
  readonly notAfter: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** A node's peer and server certificates. */
export const DEFAULT_NODE_CERTIFICATE_LIFETIME_MS = 7 * DAY_MS;
/** The control plane's client certificate: minted at each cold start, so it can be short. */
export const DEFAULT_CONTROL_PLANE_CERTIFICATE_LIFETIME_MS = HOUR_MS;
/** A user's client certificate. */
export const DEFAULT_CLIENT_CERTIFICATE_LIFETIME_MS = 7 * DAY_MS;
export const DEFAULT_CA_LIFETIME_MS = 3650 * DAY_MS;
export const DEFAULT_CLOCK_SKEW_MS = 5 * MINUTE_MS;
/** Certificates shorter than this would be renewed every few minutes, against KMS quotas. */
export const MIN_CERTIFICATE_LIFETIME_MS = 15 * MINUTE_MS;

/** etcd's root user: the control plane's identity, never given to a user through the client path. */
export const CONTROL_PLANE_USER = "root";

export class CertificateDecisionError extends Error {
  override readonly name = "CertificateDecisionError";
}

/** A policy with the defaults of `kind` filled in and every field checked. */
export function certificatePolicy(
  kind: CertificateKind,
  input: { readonly lifetimeMs?: number; readonly clockSkewMs?: number } = {},
): CertificatePolicy {
  const lifetimeMs = input.lifetimeMs ?? defaultLifetime(kind);
  const clockSkewMs = input.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  if (!Number.isSafeInteger(lifetimeMs) || lifetimeMs < MIN_CERTIFICATE_LIFETIME_MS) {
    throw new CertificateDecisionError(
      `certificate lifetime must be a whole number of milliseconds, at least ${MIN_CERTIFICATE_LIFETIME_MS} (15 minutes); received ${lifetimeMs}`,
    );
  }
  if (!Number.isSafeInteger(clockSkewMs) || clockSkewMs < 0 || clockSkewMs >= lifetimeMs) {
    throw new CertificateDecisionError(
      `clock skew allowance must be a whole number of milliseconds from 0 to below the lifetime (${lifetimeMs}); received ${clockSkewMs}`,
    );
  }
  return { lifetimeMs, clockSkewMs };
}

function defaultLifetime(kind: CertificateKind): number {
  switch (kind) {
    case "peer":
    case "server":
      return DEFAULT_NODE_CERTIFICATE_LIFETIME_MS;
    case "client":
      return DEFAULT_CLIENT_CERTIFICATE_LIFETIME_MS;
    case "control-plane":
      return DEFAULT_CONTROL_PLANE_CERTIFICATE_LIFETIME_MS;
  }
}

/**
 * The certificate for `request` issued at `now`. Throws CertificateDecisionError naming the field
 * that is wrong (an instance ID, IP, DNS name or user name that is not one).
 *
 * Extended key usages: a peer certificate is presented both when a member accepts a peer connection
 * and when it dials one, so it has serverAuth and clientAuth. A server certificate has clientAuth
 * too: etcd 3.4 dials its own client port with `--cert-file` as its client certificate (its
 * grpc-gateway, which serves the JSON API), and under `--client-cert-auth` a certificate without
 * clientAuth is refused there. Client certificates have clientAuth only.
 */
export function decideCertificate(
  request: CertificateRequest,
  publicKey: PublicKeyFamily,
  policy: CertificatePolicy,
  now: number,
): CertificateDecision {
  requireTime(now);
  const common = {
    keyUsages: publicKey === "rsa" ? ["digitalSignature", "keyEncipherment"] : ["digitalSignature"],
    notBefore: now - policy.clockSkewMs,
    notAfter: now + policy.lifetimeMs,
    renewAt: now + twoThirds(policy.lifetimeMs),
  } satisfies Partial<CertificateDecision>;
  switch (request.kind) {
    case "peer":
      requireNode(request.node);
      return {
        ...common,
        kind: "peer",
        ca: "peer",
        commonName: request.node.instanceId,
        ipAddresses: [request.node.privateIp],
        dnsNames: [],
        extendedKeyUsages: ["serverAuth", "clientAuth"],
      };
    case "server":
      requireNode(request.node);
      return {
        ...common,
        kind: "server",
        ca: "client",
        commonName: request.node.instanceId,
        ipAddresses: [request.node.privateIp],
        dnsNames: serverDnsNames(request.node, request.clientDnsName),
        extendedKeyUsages: ["serverAuth", "clientAuth"],
      };
    case "client":
    case "control-plane":
      return {
        ...common,
        kind: request.kind,
        ca: "client",
        commonName: request.kind === "client" ? userName(request.user) : CONTROL_PLANE_USER,
        ipAddresses: [],
        dnsNames: [],
        extendedKeyUsages: ["clientAuth"],
      };
  }
}

/** A CA certificate, self-signed by its KMS key, made once per CA. */
export function decideCaCertificate(
  clusterName: string,
  ca: CaKind,
  now: number,
  lifetimeMs: number = DEFAULT_CA_LIFETIME_MS,
  clockSkewMs: number = DEFAULT_CLOCK_SKEW_MS,
): CaCertificateDecision {
  requireTime(now);
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(clusterName)) {
    throw new CertificateDecisionError(
      `cluster name must be 1-128 letters, digits, '.', '_' or '-'; received ${JSON.stringify(clusterName)}`,
    );
  }
  if (!Number.isSafeInteger(lifetimeMs) || lifetimeMs <= DAY_MS) {
    throw new CertificateDecisionError(`CA lifetime must be more than a day; received ${lifetimeMs} ms`);
  }
  return {
    ca,
    commonName: `etcd-asg ${clusterName} ${ca} CA`,
    pathLength: 0,
    keyUsages: ["keyCertSign", "cRLSign"],
    notBefore: now - clockSkewMs,
    notAfter: now + lifetimeMs,
  };
}

/** floor(2 × lifetime / 3) in integer arithmetic. */
function twoThirds(lifetimeMs: number): number {
  const doubled = 2 * lifetimeMs;
  return (doubled - (doubled % 3)) / 3;
}

function requireTime(now: number): void {
  if (!Number.isSafeInteger(now) || now < 0) {
    throw new CertificateDecisionError(`now must be epoch milliseconds; received ${now}`);
  }
}

const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const IPV4_OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4 = new RegExp(`^${IPV4_OCTET}(?:\\.${IPV4_OCTET}){3}$`);
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** etcd takes the CN as the user name; X.520 allows 64 characters in a CN. */
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

function requireNode(node: NodeIdentity): void {
  if (!INSTANCE_ID.test(node.instanceId)) {
    throw new CertificateDecisionError(
      `instance ID must look like i-0123456789abcdef0; received ${JSON.stringify(node.instanceId)}`,
    );
  }
  if (!IPV4.test(node.privateIp)) {
    throw new CertificateDecisionError(
      `private IP must be an IPv4 address such as 10.0.1.7; received ${JSON.stringify(node.privateIp)}`,
    );
  }
}

/**
 * The cluster's name N, which a client resolves to every started voter, and `<instance-id>.N`, this
 * member's own name: the target of its SRV records (`_etcd-client-ssl._tcp.N`), which a client that
 * discovers the cluster by SRV (`etcdctl --discovery-srv N`) connects to and verifies. Both name this
 * node only while it is a voter (the control plane keeps the records), and the instance ID never
 * names another node.
 */
function serverDnsNames(node: NodeIdentity, clientDnsName: string | undefined): string[] {
  if (clientDnsName === undefined) return [];
  const name = dnsName(clientDnsName);
  return [name, dnsName(`${node.instanceId}.${name}`)];
}

/** Lower-cased, without a trailing dot; no wildcards (a certificate names exactly one cluster). */
function dnsName(name: string): string {
  const normalized = name.toLowerCase().replace(/\.$/, "");
  const labels = normalized.split(".");
  if (normalized.length > 253 || labels.length < 2 || !labels.every((label) => DNS_LABEL.test(label))) {
    throw new CertificateDecisionError(
      `client DNS name must be a fully qualified host name such as etcd.example.internal; received ${JSON.stringify(name)}`,
    );
  }
  return normalized;
}

function userName(user: string): string {
  if (!USER_NAME.test(user)) {
    throw new CertificateDecisionError(
      `user name must be 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit; received ${JSON.stringify(user)}`,
    );
  }
  if (user === CONTROL_PLANE_USER) {
    throw new CertificateDecisionError(
      `user name ${CONTROL_PLANE_USER} is the control plane's identity and is not issued to users`,
    );
  }
  return user;
}
