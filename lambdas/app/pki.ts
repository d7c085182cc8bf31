// The control plane's PKI: the two certificate authorities (their certificates published once in the
// ledger, their private keys KMS keys that never leave KMS), the control plane's own client identity
// (CN root, an in-memory key, renewed before it expires), and the issuance of a node's peer and
// server certificates and of a user's client certificate. Every SAN and lifetime comes from the
// pure decision (domain/certificates.ts): a CSR contributes its public key and nothing else.
//
// The X.509 and KMS code loads on first use, not at a container's init: an invocation that never
// touches a certificate (most node API answers, launch events) does not pay for it.
import type { KMSClient } from "@aws-sdk/client-kms";
import type { LedgerOptions } from "../adapters/ledger/ledger";
import {
  type CaKind,
  type CertificateRequest,
  CONTROL_PLANE_USER,
  certificatePolicy,
  decideCertificate,
  type NodeIdentity,
} from "../domain/certificates";
import type { CertificateAuthority, ClientIdentity, IssuedCertificate, RenewingClientIdentity } from "../pki";

export interface NodeCertificates {
  readonly peer: IssuedCertificate;
  readonly server: IssuedCertificate;
  readonly peerCaPem: string;
  readonly clientCaPem: string;
}

export interface UserCertificate {
  readonly certificate: IssuedCertificate;
  readonly caPem: string;
}

export interface PkiOptions {
  readonly clusterName: string;
  /** The container's KMS client, built on first use. */
  readonly kms: () => Promise<KMSClient>;
  readonly peerCaKeyArn: string;
  readonly clientCaKeyArn: string;
  /** The ledger table's document client and name, where the CA certificates are published. */
  readonly ledger: LedgerOptions;
  /** A node's certificates' lifetime. */
  readonly nodeCertificateLifetimeMs: number;
  /** The cluster's client DNS name, a SAN of every server certificate, once the stack has one. */
  readonly clientDnsName: string | undefined;
  readonly now: () => number;
}

export class ControlPlanePki {
  private readonly cas = new Map<CaKind, Promise<CertificateAuthority>>();
  private identityRef: Promise<RenewingClientIdentity> | undefined;

  constructor(private readonly options: PkiOptions) {}

  /** The client certificate and key the control plane presents to etcd (CN root). */
  async identity(): Promise<ClientIdentity> {
    this.identityRef ??= import("../pki").then(
      ({ RenewingClientIdentity, mintControlPlaneIdentity }) =>
        new RenewingClientIdentity({
          now: this.options.now,
          mint: async (now) => mintControlPlaneIdentity(await this.ca("client"), now),
        }),
    );
    return (await this.identityRef).current();
  }

  /** Both CAs loaded and the control plane's identity minted ahead of need (a node is launching). */
  async prepare(): Promise<void> {
    await Promise.all([this.ca("peer"), this.identity()]);
  }

  /** A node's peer certificate (peer CA) and server certificate (client CA) for the key of `csrPem`,
   * naming `node` as the control plane knows it. */
  async issueNode(node: NodeIdentity, csrPem: string): Promise<NodeCertificates> {
    const { verifyCsr } = await import("../pki");
    const csr = await verifyCsr(csrPem);
    const [peerCa, clientCa] = await Promise.all([this.ca("peer"), this.ca("client")]);
    const lifetimeMs = this.options.nodeCertificateLifetimeMs;
    const now = this.options.now();
    const decide = (request: CertificateRequest) =>
      decideCertificate(request, csr.family, certificatePolicy(request.kind, { lifetimeMs }), now);
    const [peer, server] = await Promise.all([
      peerCa.issue(decide({ kind: "peer", node }), csr.publicKey),
      clientCa.issue(
        decide({ kind: "server", node, clientDnsName: this.options.clientDnsName }),
        csr.publicKey,
      ),
    ]);
    return { peer, server, peerCaPem: peerCa.pem, clientCaPem: clientCa.pem };
  }

  /** A client certificate for etcd user `user` (`root` gets the control plane's kind: etcd's root). */
  async issueUser(user: string, csrPem: string, lifetimeMs: number): Promise<UserCertificate> {
    const { verifyCsr } = await import("../pki");
    const csr = await verifyCsr(csrPem);
    const request: CertificateRequest =
      user === CONTROL_PLANE_USER ? { kind: "control-plane" } : { kind: "client", user };
    const decision = decideCertificate(
      request,
      csr.family,
      certificatePolicy(request.kind, { lifetimeMs }),
      this.options.now(),
    );
    const ca = await this.ca("client");
    return { certificate: await ca.issue(decision, csr.publicKey), caPem: ca.pem };
  }

  /** The CA, its certificate published (by this call, if it is the first) and checked against its
   * KMS key. A failure is not remembered: the next call tries again. */
  private ca(kind: CaKind): Promise<CertificateAuthority> {
    let ca = this.cas.get(kind);
    if (ca === undefined) {
      ca = this.load(kind);
      this.cas.set(kind, ca);
      ca.catch(() => this.cas.delete(kind));
    }
    return ca;
  }

  private async load(kind: CaKind): Promise<CertificateAuthority> {
    const [{ ensureCertificateAuthority }, { KmsSigningKey }, { CertificateAuthorityLedger }] =
      await Promise.all([
        import("../pki"),
        import("../adapters/kms"),
        import("../adapters/ledger/certificate-authorities"),
      ]);
    const keyArn = kind === "peer" ? this.options.peerCaKeyArn : this.options.clientCaKeyArn;
    const { ca } = await ensureCertificateAuthority({
      kind,
      clusterName: this.options.clusterName,
      key: new KmsSigningKey(await this.options.kms(), keyArn),
      store: new CertificateAuthorityLedger(this.options.ledger),
      now: this.options.now(),
    });
    return ca;
  }
}
