// A real etcd 3.4 cluster with mutual TLS on both ports, as issue 14 runs it: https client and peer
// URLs, --client-cert-auth and --peer-client-cert-auth, the peer CA trusted on 2380 and the client
// CA on 2379, each member with a peer and a server certificate issued to it (CN its instance ID,
// its IP as SAN). Started on a reserved 127.0.X.0/24 block; everything is torn down by `stop`.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { CertificateAuthority } from "../../../lambdas/pki/certificate-authority";
import { type Credentials, issueTo } from "../pki";
import { formatInitialCluster } from "./cluster";
import { type LoopbackBlock, reserveLoopbackBlock } from "./loopback";
import { type PlacedMember, placeMembers } from "./placed-members";
import { EtcdProcess, tail } from "./process";

const HEARTBEAT_MS = 50;
const ELECTION_TIMEOUT_MS = 500;
const FIRST_HOST = 11;

export interface TlsMember extends PlacedMember {
  readonly logFile: string;
}

/** TLS material for an HTTPS or raw TLS request: whom to trust and what to present. */
export interface TlsCredentials {
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
}

export interface TlsClusterOptions {
  readonly size: number;
  readonly peerCa: CertificateAuthority;
  readonly clientCa: CertificateAuthority;
  /** For /health while starting: a certificate the client CA signed. */
  readonly healthCheckIdentity: Credentials;
  /** The cluster's client DNS name, put in every server certificate. */
  readonly clientDnsName?: string;
  /**
   * etcd 3.4 checks that a peer connects from an IP its certificate names. On loopback every
   * connection comes from 127.0.0.1 whatever 127.0.X.Y the member listens on, so a cluster of more
   * than one member needs `--experimental-peer-skip-client-san-verification` here (on EC2 a member
   * connects from its private IP, which its certificate names). The CA check stays on.
   * @default true when size > 1
   */
  readonly skipPeerSanCheck?: boolean;
  /**
   * More etcd flags for every member, e.g. `--quota-backend-bytes=8388608` for a test that fills
   * the backend.
   * @default none
   */
  readonly extraFlags?: readonly string[];
}

export class TlsEtcdCluster {
  private readonly processes = new Map<string, EtcdProcess>();

  private constructor(
    readonly members: readonly TlsMember[],
    private readonly options: TlsClusterOptions,
    private readonly block: LoopbackBlock,
    private readonly root: string,
  ) {}

  static async start(options: TlsClusterOptions): Promise<TlsEtcdCluster> {
    const block = reserveLoopbackBlock();
    const root = mkdtempSync(join(tmpdir(), "etcd-asg-tls-"));
    const placed = await placeMembers(block, root, options.size, FIRST_HOST);
    const members: TlsMember[] = placed.map((member) => ({
      ...member,
      logFile: join(root, `${member.name}.log`),
    }));
    const cluster = new TlsEtcdCluster(members, options, block, root);
    try {
      for (const member of members) await cluster.renewCertificates(member.name);
      const token = `etcd-asg-tls-${randomBytes(6).toString("hex")}`;
      for (const member of members) cluster.launch(member, formatInitialCluster(members), token);
      await Promise.all(members.map((member) => cluster.waitHealthy(member)));
    } catch (error) {
      cluster.printLogTails();
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get clientUrls(): string[] {
    return this.members.map((member) => member.clientUrl);
  }

  /**
   * Issues the member a new peer and a new server certificate (new keys) and replaces its files the
   * way a renewal timer should: each file written beside the old one and renamed over it. Returns the
   * new serial numbers.
   */
  async renewCertificates(name: string): Promise<{ peer: string; server: string }> {
    const member = this.member(name);
    const node = { instanceId: member.name, privateIp: member.ip };
    const peer = await issueTo(this.options.peerCa, { kind: "peer", node });
    const server = await issueTo(this.options.clientCa, {
      kind: "server",
      node,
      clientDnsName: this.options.clientDnsName,
    });
    const files: [string, string][] = [
      ["peer-ca.crt", this.options.peerCa.pem],
      ["client-ca.crt", this.options.clientCa.pem],
      ["peer.key", peer.privateKeyPem],
      ["peer.crt", peer.certificatePem],
      ["server.key", server.privateKeyPem],
      ["server.crt", server.certificatePem],
    ];
    mkdirSync(member.dir, { recursive: true });
    for (const [file, content] of files) {
      const path = join(member.dir, file);
      writeFileSync(`${path}.new`, content, { mode: 0o600 });
      renameSync(`${path}.new`, path);
    }
    return { peer: peer.serialNumber, server: server.serialNumber };
  }

  member(name: string): TlsMember {
    const member = this.members.find((candidate) => candidate.name === name);
    if (member === undefined) throw new Error(`no member ${name}`);
    return member;
  }

  printLogTails(): void {
    for (const member of this.members) {
      console.error(`--- ${member.name} (${member.peerUrl}) last 40 log lines ---`);
      console.error(tail(member.logFile, 40));
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.processes.values()].map((process) => process.kill()));
    this.processes.clear();
    this.block.release();
    rmSync(this.root, { recursive: true, force: true });
  }

  private launch(member: TlsMember, initialCluster: string, token: string): void {
    const file = (name: string) => join(member.dir, name);
    this.processes.set(
      member.name,
      EtcdProcess.start(
        [
          `--name=${member.name}`,
          `--data-dir=${file("data")}`,
          `--listen-client-urls=${member.clientUrl}`,
          `--advertise-client-urls=${member.clientUrl}`,
          `--listen-peer-urls=${member.peerUrl}`,
          `--initial-advertise-peer-urls=${member.peerUrl}`,
          `--initial-cluster=${initialCluster}`,
          "--initial-cluster-state=new",
          `--initial-cluster-token=${token}`,
          `--heartbeat-interval=${HEARTBEAT_MS}`,
          `--election-timeout=${ELECTION_TIMEOUT_MS}`,
          "--client-cert-auth",
          `--trusted-ca-file=${file("client-ca.crt")}`,
          `--cert-file=${file("server.crt")}`,
          `--key-file=${file("server.key")}`,
          "--peer-client-cert-auth",
          ...((this.options.skipPeerSanCheck ?? this.members.length > 1)
            ? ["--experimental-peer-skip-client-san-verification"]
            : []),
          `--peer-trusted-ca-file=${file("peer-ca.crt")}`,
          `--peer-cert-file=${file("peer.crt")}`,
          `--peer-key-file=${file("peer.key")}`,
          "--logger=zap",
          "--log-outputs=stderr",
          ...(this.options.extraFlags ?? []),
        ],
        member.logFile,
      ),
    );
  }

  private async waitHealthy(member: TlsMember, timeoutMs = 30_000): Promise<void> {
    const { healthCheckIdentity: identity, clientCa } = this.options;
    const credentials = { ca: clientCa.pem, cert: identity.certificatePem, key: identity.privateKeyPem };
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const exit = this.processes.get(member.name)?.exit;
      if (exit !== undefined)
        throw new Error(`etcd ${member.name} exited (code ${exit.code}) before it was healthy`);
      const answer = await httpsGet(`${member.clientUrl}/health`, credentials).catch(() => undefined);
      if (answer?.status === 200 && JSON.parse(answer.body).health === "true") return;
      await sleep(100);
    }
    throw new Error(`etcd ${member.name} was not healthy within ${timeoutMs} ms`);
  }
}

/** GET over mutual TLS, from `localAddress` when given; rejects when the handshake or the request fails. */
export function httpsGet(
  url: string,
  tls: TlsCredentials,
  options: { readonly localAddress?: string; readonly timeoutMs?: number } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      url,
      { ...tls, agent: false, timeout: options.timeoutMs ?? 2000, localAddress: options.localAddress },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
        response.on("error", reject);
      },
    );
    request.on("timeout", () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on("error", reject);
    request.end();
  });
}
