// The baselines' certificates: the same PKI etcd-asg's members get (a peer CA and a client CA whose
// keys live in a KMS, here the local KMS emulator in-process; P-256 peer and server certificates
// issued by the same decision code, the member's IP as SAN), made before any clock starts, as an
// operator with perfect knowledge would have them ready. Each member's files are written to its dir.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { KmsSigningKey } from "../../lambdas/adapters/kms/signing-key";
import { type CaKind, decideCaCertificate } from "../../lambdas/domain/certificates";
import { createCaCertificatePem } from "../../lambdas/pki/ca-certificate";
import { CertificateAuthority } from "../../lambdas/pki/certificate-authority";
import { KmsEmulator } from "../../local/kms/server";
import type { EtcdTls } from "../../local/simulator/operator-identity";
import { issueTo } from "../../test/helpers/pki";

/** Where a member's TLS files are, named as etcd's flags take them. */
export interface MemberTlsFiles {
  readonly peerCa: string;
  readonly clientCa: string;
  readonly peerCert: string;
  readonly peerKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

export class BenchPki {
  private constructor(
    private readonly kms: KmsEmulator,
    private readonly client: KMSClient,
    private readonly peerCa: CertificateAuthority,
    private readonly clientCa: CertificateAuthority,
    /** etcd's root user, as the operator's scripts present it. */
    readonly operator: EtcdTls,
  ) {}

  static async create(): Promise<BenchPki> {
    const kms = new KmsEmulator();
    const client = new KMSClient({
      endpoint: await kms.start(),
      region: kms.region,
      credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
    });
    try {
      const ca = async (kind: CaKind) => {
        const created = await client.send(
          new CreateKeyCommand({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" }),
        );
        const key = new KmsSigningKey(client, created.KeyMetadata?.Arn ?? "");
        const pem = await createCaCertificatePem(decideCaCertificate("bench", kind, Date.now()), key);
        return CertificateAuthority.load(kind, pem, key);
      };
      const peerCa = await ca("peer");
      const clientCa = await ca("client");
      const root = await issueTo(clientCa, { kind: "control-plane" });
      const operator = { ca: clientCa.pem, cert: root.certificatePem, key: root.privateKeyPem };
      return new BenchPki(kms, client, peerCa, clientCa, operator);
    } catch (error) {
      client.destroy();
      await kms.stop();
      throw error;
    }
  }

  /** Issues `name` at `ip` its peer and server certificates and writes them, with the CAs, to `dir`. */
  async issueMember(name: string, ip: string, dir: string): Promise<MemberTlsFiles> {
    const node = { instanceId: name, privateIp: ip };
    const peer = await issueTo(this.peerCa, { kind: "peer", node });
    const server = await issueTo(this.clientCa, { kind: "server", node });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const files: MemberTlsFiles = {
      peerCa: join(dir, "peer-ca.crt"),
      clientCa: join(dir, "client-ca.crt"),
      peerCert: join(dir, "peer.crt"),
      peerKey: join(dir, "peer.key"),
      serverCert: join(dir, "server.crt"),
      serverKey: join(dir, "server.key"),
    };
    const contents: [string, string][] = [
      [files.peerCa, this.peerCa.pem],
      [files.clientCa, this.clientCa.pem],
      [files.peerCert, peer.certificatePem],
      [files.peerKey, peer.privateKeyPem],
      [files.serverCert, server.certificatePem],
      [files.serverKey, server.privateKeyPem],
    ];
    for (const [path, content] of contents) writeFileSync(path, content, { mode: 0o600 });
    return files;
  }

  stop(): Promise<void> {
    this.client.destroy();
    return this.kms.stop();
  }
}
