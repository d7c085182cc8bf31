// etcd processes for the baselines: the same etcd binary the simulator's instances run, with the
// same raft timers, the same ports (2379 client, 2380 peer) on addresses of a reserved 127.0.X.0/24
// block and the same mutual TLS on both (certificates from BenchPki, issued when a member is
// reserved, before any clock starts), so the only difference to etcd-asg is who decides the flags
// and the members.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Etcd3 } from "etcd3";
import { etcdClient } from "../../local/simulator/etcd-client";
import { type LoopbackBlock, reserveLoopbackBlock } from "../../test/helpers/etcd/loopback";
import { EtcdProcess } from "../../test/helpers/etcd/process";
import { HealthProbe } from "../health-probe";
import { pollUntil } from "../measure";
import { BenchPki, type MemberTlsFiles } from "./pki";

/** The simulator's raft timers (local/simulator/simulator.ts passes them to every instance). */
export const RAFT_FLAGS = ["--heartbeat-interval=100", "--election-timeout=1000"] as const;
/** What the simulator's instances set too: on loopback every peer connects from 127.0.0.1, which
 * its certificate does not name (on EC2 it connects from its own IP). The CA check stays on. */
const PEER_SAN_FLAG = "--experimental-peer-skip-client-san-verification";
const HEALTHY_TIMEOUT_MS = 30_000;

export interface BenchMember {
  readonly name: string;
  readonly ip: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly tls: MemberTlsFiles;
}

export class EtcdBed {
  private readonly processes = new Map<string, EtcdProcess>();
  private readonly probe: HealthProbe;
  private nextHost = 11;

  private constructor(
    private readonly block: LoopbackBlock,
    private readonly root: string,
    private readonly pki: BenchPki,
  ) {
    this.probe = new HealthProbe(pki.operator);
  }

  static async create(): Promise<EtcdBed> {
    const pki = await BenchPki.create();
    return new EtcdBed(reserveLoopbackBlock(), mkdtempSync(join(tmpdir(), "etcd-asg-bench-")), pki);
  }

  /** A fresh instance-like name and address with its certificates issued, not started. */
  async reserve(): Promise<BenchMember> {
    const ip = this.block.address(this.nextHost++);
    const name = `i-0${randomBytes(8).toString("hex")}`;
    return {
      name,
      ip,
      clientUrl: `https://${ip}:2379`,
      peerUrl: `https://${ip}:2380`,
      tls: await this.pki.issueMember(name, ip, join(this.root, `${name}-pki`)),
    };
  }

  /** Where `member`'s etcd keeps its data (a restore writes it before the start). */
  dataDir(member: BenchMember): string {
    return join(this.root, member.name);
  }

  /** Where `member`'s etcd writes its log. */
  logFile(member: BenchMember): string {
    return join(this.root, `${member.name}.log`);
  }

  /** Starts etcd for `member` with its URLs, TLS, the raft timers and `flags` (cluster formation). */
  start(member: BenchMember, flags: readonly string[]): void {
    const { tls } = member;
    const args = [
      `--name=${member.name}`,
      `--data-dir=${this.dataDir(member)}`,
      `--listen-client-urls=${member.clientUrl}`,
      `--advertise-client-urls=${member.clientUrl}`,
      `--listen-peer-urls=${member.peerUrl}`,
      `--initial-advertise-peer-urls=${member.peerUrl}`,
      "--client-cert-auth",
      `--trusted-ca-file=${tls.clientCa}`,
      `--cert-file=${tls.serverCert}`,
      `--key-file=${tls.serverKey}`,
      "--peer-client-cert-auth",
      `--peer-trusted-ca-file=${tls.peerCa}`,
      `--peer-cert-file=${tls.peerCert}`,
      `--peer-key-file=${tls.peerKey}`,
      PEER_SAN_FLAG,
      ...RAFT_FLAGS,
      ...flags,
    ];
    this.processes.set(member.name, EtcdProcess.start(args, this.logFile(member)));
  }

  /** The discovery service's backend: a plain etcd storing v2 keys (`--enable-v2`), which stands in
   * for discovery.etcd.io; the members that use it run TLS like every other. */
  async startDiscoveryStore(): Promise<string> {
    const ip = this.block.address(this.nextHost++);
    const name = "discovery-store";
    const url = `http://${ip}:2379`;
    this.processes.set(
      name,
      EtcdProcess.start(
        [
          `--name=${name}`,
          `--data-dir=${join(this.root, name)}`,
          `--listen-client-urls=${url}`,
          `--advertise-client-urls=${url}`,
          `--listen-peer-urls=http://${ip}:2380`,
          `--initial-advertise-peer-urls=http://${ip}:2380`,
          `--initial-cluster=${name}=http://${ip}:2380`,
          "--enable-v2",
          ...RAFT_FLAGS,
        ],
        join(this.root, `${name}.log`),
      ),
    );
    await pollUntil(
      "the discovery store answering",
      async () => (await fetch(`${url}/health`).catch(() => undefined))?.ok === true,
      HEALTHY_TIMEOUT_MS,
    );
    return url;
  }

  async kill(name: string): Promise<void> {
    await this.processes.get(name)?.kill();
    this.processes.delete(name);
  }

  /** Kills every process of `members`. */
  async killAll(members: readonly BenchMember[]): Promise<void> {
    for (const member of members) await this.kill(member.name);
  }

  async waitHealthy(members: readonly BenchMember[]): Promise<void> {
    await pollUntil(
      `${members.map((m) => m.name).join(", ")} healthy`,
      () => this.probe.allHealthy(members.map((m) => m.clientUrl)),
      HEALTHY_TIMEOUT_MS,
    );
  }

  /** An etcd3 client as etcd's root user, without etcd3's retry and circuit-breaker policies: the
   * bench retries itself. */
  client(members: readonly BenchMember[]): Etcd3 {
    return etcdClient(
      members.map((m) => m.clientUrl),
      this.pki.operator,
    );
  }

  /** The operator's certificate, for the bench's own requests. */
  get operatorTls() {
    return this.pki.operator;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.processes.values()].map((p) => p.kill()));
    this.processes.clear();
    this.probe.close();
    await this.pki.stop();
    this.block.release();
    rmSync(this.root, { recursive: true, force: true });
  }
}

export function initialCluster(members: readonly BenchMember[]): string {
  return members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
}
