// A new etcd cluster restored from a snapshot file as a recovered generation's nodes will restore it:
// the command domain/restore-command.ts chooses for the etcd installed here (`etcdctl snapshot
// restore` on 3.4, which checks the SHA-256 etcd appended; etcdutl from 3.5) into one data dir
// per member with the new names, peer URLs and token, then each member started on its data dir with
// mutual TLS on both ports (certificates issued to it by the test CAs). Members live on a reserved
// 127.0.X.0/24 block; `stop` kills them and removes every file.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { type EtcdVersion, parseEtcdVersion } from "../../../lambdas/domain/etcd-version";
import { restoreCommand } from "../../../lambdas/domain/restore-command";
import type { CertificateAuthority } from "../../../lambdas/pki/certificate-authority";
import { type Credentials, issueTo } from "../pki";
import { formatInitialCluster } from "./cluster";
import { type LoopbackBlock, reserveLoopbackBlock } from "./loopback";
import { type PlacedMember, placeMembers } from "./placed-members";
import { EtcdProcess, tail } from "./process";
import { httpsGet } from "./tls-cluster";

const run = promisify(execFile);
const FIRST_HOST = 31;

export type RestoredMember = PlacedMember;

export interface RestoreOptions {
  /** The snapshot as the adapter uploaded it: the database followed by etcd's SHA-256. */
  readonly snapshotFile: string;
  readonly size: number;
  /** The new generation's cluster token. */
  readonly token: string;
  readonly peerCa: CertificateAuthority;
  readonly clientCa: CertificateAuthority;
  /** A certificate the client CA signed, for /health while starting. */
  readonly healthCheckIdentity: Credentials;
}

/** The etcd release installed here, as `etcd --version` names it. */
export async function installedEtcdVersion(): Promise<EtcdVersion> {
  const { stdout } = await run("etcd", ["--version"], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  const match = /^etcd Version: (\S+)$/m.exec(stdout);
  if (match?.[1] === undefined) throw new Error(`etcd --version printed no version: ${stdout}`);
  return parseEtcdVersion(match[1]);
}

export class RestoredEtcdCluster {
  private readonly processes: EtcdProcess[] = [];

  private constructor(
    readonly members: readonly RestoredMember[],
    private readonly options: RestoreOptions,
    private readonly block: LoopbackBlock,
    private readonly root: string,
  ) {}

  static async restore(options: RestoreOptions): Promise<RestoredEtcdCluster> {
    const block = reserveLoopbackBlock();
    const root = mkdtempSync(join(tmpdir(), "etcd-asg-restored-"));
    const members = await placeMembers(block, root, options.size, FIRST_HOST);
    const cluster = new RestoredEtcdCluster(members, options, block, root);
    try {
      const initialCluster = formatInitialCluster(members);
      const version = await installedEtcdVersion();
      for (const member of members) {
        // The command the control plane chooses for the etcd installed here, as a node would run it.
        const restore = restoreCommand({
          etcdVersion: version,
          snapshotFile: options.snapshotFile,
          name: member.name,
          initialCluster,
          initialClusterToken: options.token,
          initialAdvertisePeerUrl: member.peerUrl,
          dataDir: join(member.dir, "data"),
        });
        await run(restore.tool, [...restore.args], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
        await cluster.writeCertificates(member);
        cluster.launch(member, initialCluster);
      }
      await Promise.all(members.map((member) => cluster.waitHealthy(member)));
    } catch (error) {
      for (const member of members)
        console.error(`--- ${member.name}\n${tail(join(member.dir, "etcd.log"), 30)}`);
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get clientUrls(): string[] {
    return this.members.map((member) => member.clientUrl);
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((process) => process.kill()));
    this.processes.length = 0;
    this.block.release();
    rmSync(this.root, { recursive: true, force: true });
  }

  private async writeCertificates(member: RestoredMember): Promise<void> {
    const { peerCa, clientCa } = this.options;
    const node = { instanceId: member.name, privateIp: member.ip };
    const peer = await issueTo(peerCa, { kind: "peer", node });
    const server = await issueTo(clientCa, { kind: "server", node });
    const files: [string, string][] = [
      ["peer-ca.crt", peerCa.pem],
      ["client-ca.crt", clientCa.pem],
      ["peer.crt", peer.certificatePem],
      ["peer.key", peer.privateKeyPem],
      ["server.crt", server.certificatePem],
      ["server.key", server.privateKeyPem],
    ];
    for (const [name, content] of files) writeFileSync(join(member.dir, name), content, { mode: 0o600 });
  }

  private launch(member: RestoredMember, initialCluster: string): void {
    const file = (name: string) => join(member.dir, name);
    this.processes.push(
      EtcdProcess.start(
        [
          `--name=${member.name}`,
          `--data-dir=${file("data")}`,
          `--listen-client-urls=${member.clientUrl}`,
          `--advertise-client-urls=${member.clientUrl}`,
          `--listen-peer-urls=${member.peerUrl}`,
          `--initial-advertise-peer-urls=${member.peerUrl}`,
          // Ignored once the data dir exists, as it does after a restore; given as the boot script will.
          `--initial-cluster=${initialCluster}`,
          "--initial-cluster-state=new",
          `--initial-cluster-token=${this.options.token}`,
          "--heartbeat-interval=50",
          "--election-timeout=500",
          "--client-cert-auth",
          `--trusted-ca-file=${file("client-ca.crt")}`,
          `--cert-file=${file("server.crt")}`,
          `--key-file=${file("server.key")}`,
          "--peer-client-cert-auth",
          // On loopback every peer connects from 127.0.0.1, which no certificate names (tls-cluster.ts).
          ...(this.members.length > 1 ? ["--experimental-peer-skip-client-san-verification"] : []),
          `--peer-trusted-ca-file=${file("peer-ca.crt")}`,
          `--peer-cert-file=${file("peer.crt")}`,
          `--peer-key-file=${file("peer.key")}`,
          "--logger=zap",
          "--log-outputs=stderr",
        ],
        file("etcd.log"),
      ),
    );
  }

  private async waitHealthy(member: RestoredMember, timeoutMs = 60_000): Promise<void> {
    const { clientCa, healthCheckIdentity: identity } = this.options;
    const tls = { ca: clientCa.pem, cert: identity.certificatePem, key: identity.privateKeyPem };
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const answer = await httpsGet(`${member.clientUrl}/health`, tls).catch(() => undefined);
      if (answer?.status === 200 && JSON.parse(answer.body).health === "true") return;
      await sleep(100);
    }
    throw new Error(`restored member ${member.name} was not healthy within ${timeoutMs} ms`);
  }
}
