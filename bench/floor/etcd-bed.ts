// etcd processes for the baselines: the same etcd binary the simulator's instances run, with the
// same raft timers and the same ports (2379 client, 2380 peer) on addresses of a reserved
// 127.0.X.0/24 block, so the only difference to etcd-asg is who decides the flags and the members.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { noop } from "cockatiel";
import { Etcd3 } from "etcd3";
import { isHealthy } from "../../test/helpers/etcd/health";
import { type LoopbackBlock, reserveLoopbackBlock } from "../../test/helpers/etcd/loopback";
import { EtcdProcess } from "../../test/helpers/etcd/process";
import { pollUntil } from "../measure";

/** The simulator's raft timers (local/simulator/simulator.ts passes them to every instance). */
export const RAFT_FLAGS = ["--heartbeat-interval=100", "--election-timeout=1000"] as const;
const HEALTHY_TIMEOUT_MS = 30_000;

export interface BenchMember {
  readonly name: string;
  readonly ip: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
}

export class EtcdBed {
  private readonly processes = new Map<string, EtcdProcess>();
  private nextHost = 11;

  private constructor(
    private readonly block: LoopbackBlock,
    private readonly root: string,
  ) {}

  static create(): EtcdBed {
    return new EtcdBed(reserveLoopbackBlock(), mkdtempSync(join(tmpdir(), "etcd-asg-bench-")));
  }

  /** A fresh instance-like name and address, not started. */
  reserve(): BenchMember {
    const ip = this.block.address(this.nextHost++);
    return {
      name: `i-0${randomBytes(8).toString("hex")}`,
      ip,
      clientUrl: `http://${ip}:2379`,
      peerUrl: `http://${ip}:2380`,
    };
  }

  /** Starts etcd for `member` with its URLs, the raft timers and `flags` (cluster formation). */
  start(member: BenchMember, flags: readonly string[]): void {
    const args = [
      `--name=${member.name}`,
      `--data-dir=${join(this.root, member.name)}`,
      `--listen-client-urls=${member.clientUrl}`,
      `--advertise-client-urls=${member.clientUrl}`,
      `--listen-peer-urls=${member.peerUrl}`,
      `--initial-advertise-peer-urls=${member.peerUrl}`,
      ...RAFT_FLAGS,
      ...flags,
    ];
    this.processes.set(member.name, EtcdProcess.start(args, join(this.root, `${member.name}.log`)));
  }

  /** A process that stores etcd's v2 keys (`--enable-v2`): the discovery service's backend. */
  startDiscoveryStore(member: BenchMember): void {
    this.start(member, ["--enable-v2", `--initial-cluster=${member.name}=${member.peerUrl}`]);
  }

  async kill(name: string): Promise<void> {
    await this.processes.get(name)?.kill();
    this.processes.delete(name);
  }

  /** Kills every process except `keep` (a finished rep's members, not the discovery store). */
  async killAllBut(keep: readonly BenchMember[]): Promise<void> {
    const kept = new Set(keep.map((m) => m.name));
    for (const name of [...this.processes.keys()]) if (!kept.has(name)) await this.kill(name);
  }

  async waitHealthy(members: readonly BenchMember[]): Promise<void> {
    await pollUntil(
      `${members.map((m) => m.name).join(", ")} healthy`,
      async () => (await Promise.all(members.map((m) => isHealthy(m.clientUrl)))).every(Boolean),
      HEALTHY_TIMEOUT_MS,
    );
  }

  /** An etcd3 client without its retry and circuit-breaker policies: the bench retries itself. */
  client(members: readonly BenchMember[]): Etcd3 {
    return new Etcd3({
      hosts: members.map((m) => m.clientUrl),
      faultHandling: { host: () => noop, global: noop },
    });
  }

  async stop(): Promise<void> {
    await Promise.all([...this.processes.values()].map((p) => p.kill()));
    this.processes.clear();
    this.block.release();
    rmSync(this.root, { recursive: true, force: true });
  }
}

export function initialCluster(members: readonly BenchMember[]): string {
  return members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
}
