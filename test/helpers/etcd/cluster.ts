// The real-etcd test bed: starts an etcd 3.4 cluster of 1–7 members on a reserved 127.0.X.0/24 block,
// waits until every member answers /health, and lets a test kill, pause, wipe, restart and add members.
// Everything is torn down when the test ends, pass or fail; on failure each member's log tail is printed.
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { waitHealthy } from "./health";
import { freePort, type LoopbackBlock, reserveLoopbackBlock } from "./loopback";
import { EtcdProcess, type ExitStatus, tail } from "./process";

/** Short raft timings so elections and failure detection take well under a second. */
const HEARTBEAT_MS = 50;
const ELECTION_TIMEOUT_MS = 500;
const LOG_TAIL_LINES = 40;
/** Member addresses start at 127.0.X.11 (like a subnet's first usable addresses). */
const FIRST_HOST = 11;

export interface TestMember {
  /** Instance-ID-like, as production names members. */
  readonly name: string;
  readonly ip: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** The UID its etcd runs under, when the cluster was started with `memberUid`. */
  readonly uid?: number;
}

export interface StartClusterOptions {
  /** Members of the initial cluster, 1 to 7. */
  readonly size: number;
  /**
   * Runs each member's etcd under its own numeric UID, `memberUid(ip)`, with its data dir owned by it,
   * so that network faults can tell its packets from the others' (chaos/network). Needs root.
   * @default undefined: every member runs as the test process's user
   */
  readonly memberUid?: (ip: string) => number;
  /**
   * Awaited before each start of a member's process (initial, added or restarted): where a test
   * registers the member with a network-fault controller, which must know it before it connects.
   * @default undefined
   */
  readonly beforeLaunch?: (member: TestMember) => Promise<void> | void;
}

export type InitialClusterState = "new" | "existing";

interface MemberSlot {
  readonly member: TestMember;
  process: EtcdProcess | undefined;
  initialCluster: string;
  state: InitialClusterState;
}

/** `name=peerUrl,...` as `--initial-cluster` takes it. */
export function formatInitialCluster(entries: readonly { name: string; peerUrl: string }[]): string {
  return entries.map((entry) => `${entry.name}=${entry.peerUrl}`).join(",");
}

/** Starts a cluster and registers its teardown with `t.after`. */
export function startEtcdCluster(t: TestContext, options: StartClusterOptions): Promise<EtcdTestCluster> {
  return EtcdTestCluster.start(t, options);
}

export class EtcdTestCluster {
  readonly token = `etcd-asg-it-${randomBytes(6).toString("hex")}`;
  private readonly slots = new Map<string, MemberSlot>();
  private nextHost = FIRST_HOST;
  private stopped = false;

  private constructor(
    private readonly block: LoopbackBlock,
    private readonly root: string,
    private readonly memberUid: ((ip: string) => number) | undefined,
    private readonly beforeLaunch: StartClusterOptions["beforeLaunch"],
  ) {}

  static async start(t: TestContext, options: StartClusterOptions): Promise<EtcdTestCluster> {
    if (!Number.isInteger(options.size) || options.size < 1 || options.size > 7) {
      throw new Error(`cluster size must be an integer from 1 to 7, got ${options.size}`);
    }
    const cluster = new EtcdTestCluster(
      reserveLoopbackBlock(),
      mkdtempSync(join(tmpdir(), "etcd-asg-it-")),
      options.memberUid,
      options.beforeLaunch,
    );
    // Members running under their own UIDs must get through the temp dir to their data dirs.
    if (options.memberUid !== undefined) chmodSync(cluster.root, 0o711);
    t.after(async () => {
      // Node 20.20 sets `passed` before the after hooks run; @types/node 20 does not declare it yet.
      if ((t as TestContext & { readonly passed?: boolean }).passed !== true) cluster.printLogTails();
      await cluster.stop();
    });
    const members: TestMember[] = [];
    for (let i = 0; i < options.size; i++) members.push(await cluster.reserveMember());
    const initialCluster = formatInitialCluster(members);
    for (const member of members) await cluster.beforeLaunch?.(member);
    for (const member of members) cluster.launch(member.name, initialCluster, "new");
    await Promise.all(members.map((member) => cluster.waitHealthy(member.name)));
    return cluster;
  }

  /** Every member this test bed knows, running or not, in the order they were reserved. */
  get members(): readonly TestMember[] {
    return [...this.slots.values()].map((slot) => slot.member);
  }

  /** Client URLs of the members whose process is running. */
  get clientUrls(): string[] {
    return [...this.slots.values()].filter((slot) => isRunning(slot)).map((slot) => slot.member.clientUrl);
  }

  member(name: string): TestMember {
    return this.slot(name).member;
  }

  isRunning(name: string): boolean {
    return isRunning(this.slot(name));
  }

  /** Resolves when the member's current process exits. */
  exited(name: string): Promise<ExitStatus> {
    return this.process(name).exited;
  }

  /**
   * Allocates a name, address and ports for a member that is not started: use its peer URL in a
   * `member add`, then `startAdded`.
   */
  async reserveMember(): Promise<TestMember> {
    const ip = this.block.address(this.nextHost++);
    const name = `i-0${randomBytes(8).toString("hex")}`;
    const member: TestMember = {
      name,
      ip,
      clientUrl: `http://${ip}:${await freePort(ip)}`,
      peerUrl: `http://${ip}:${await freePort(ip)}`,
      dataDir: join(this.root, `${name}.etcd`),
      logFile: join(this.root, `${name}.log`),
      ...(this.memberUid === undefined ? {} : { uid: this.memberUid(ip) }),
    };
    this.slots.set(name, { member, process: undefined, initialCluster: "", state: "new" });
    return member;
  }

  /**
   * Starts the process of a member that was added with `member add` (with `--initial-cluster-state
   * existing`). `peerUrl` must be the reserved member's, as a guard against starting the wrong one.
   */
  async startAdded(added: { name: string; peerUrl: string; initialCluster: string }): Promise<void> {
    const { member } = this.slot(added.name);
    if (member.peerUrl !== added.peerUrl) {
      throw new Error(
        `member ${added.name} was reserved with peer URL ${member.peerUrl}, not ${added.peerUrl}`,
      );
    }
    await this.beforeLaunch?.(member);
    this.launch(added.name, added.initialCluster, "existing");
    await this.waitHealthy(added.name);
  }

  /** kill -9, and wait until the process is gone. */
  async kill(name: string): Promise<ExitStatus> {
    return this.process(name).kill();
  }

  /** SIGSTOP: the process keeps its sockets open but answers nothing, like a hung machine. Resolves
   * once every thread is stopped, so nothing is answered from then on. */
  pause(name: string): Promise<void> {
    return this.process(name).stop();
  }

  resume(name: string): void {
    this.process(name).signal("SIGCONT");
  }

  /** Removes the data dir of a member whose process is not running. */
  wipe(name: string): void {
    const slot = this.slot(name);
    if (isRunning(slot)) throw new Error(`wipe ${name}: kill it first, its process is running`);
    rmSync(slot.member.dataDir, { recursive: true, force: true });
  }

  /**
   * Starts a stopped member again with the flags it had; `initialClusterState` overrides the state
   * (etcd ignores it when the data dir exists). Waits for /health unless `waitHealthy` is false
   * (a removed member, for example, never becomes healthy).
   */
  async restart(
    name: string,
    options: { initialClusterState?: InitialClusterState; waitHealthy?: boolean } = {},
  ): Promise<void> {
    const slot = this.slot(name);
    if (isRunning(slot)) throw new Error(`restart ${name}: it is still running`);
    await this.beforeLaunch?.(slot.member);
    this.launch(name, slot.initialCluster, options.initialClusterState ?? slot.state);
    if (options.waitHealthy ?? true) await this.waitHealthy(name);
  }

  async waitHealthy(name: string, timeoutMs = 20_000): Promise<void> {
    const slot = this.slot(name);
    await waitHealthy(slot.member.clientUrl, timeoutMs, () => slot.process?.exit);
  }

  private launch(name: string, initialCluster: string, state: InitialClusterState): void {
    if (this.stopped) throw new Error(`cluster ${this.token} is stopped`);
    const slot = this.slot(name);
    const { member } = slot;
    slot.initialCluster = initialCluster;
    slot.state = state;
    if (member.uid !== undefined) {
      // etcd makes its data dir itself, but not inside a directory it cannot write; 0700 as it wants.
      mkdirSync(member.dataDir, { recursive: true, mode: 0o700 });
      chownSync(member.dataDir, member.uid, member.uid);
    }
    slot.process = EtcdProcess.start(
      [
        `--name=${member.name}`,
        `--data-dir=${member.dataDir}`,
        `--listen-client-urls=${member.clientUrl}`,
        `--advertise-client-urls=${member.clientUrl}`,
        `--listen-peer-urls=${member.peerUrl}`,
        `--initial-advertise-peer-urls=${member.peerUrl}`,
        `--initial-cluster=${initialCluster}`,
        `--initial-cluster-state=${state}`,
        `--initial-cluster-token=${this.token}`,
        `--heartbeat-interval=${HEARTBEAT_MS}`,
        `--election-timeout=${ELECTION_TIMEOUT_MS}`,
        "--logger=zap",
        "--log-outputs=stderr",
      ],
      member.logFile,
      { uid: member.uid },
    );
  }

  printLogTails(): void {
    for (const { member, process } of this.slots.values()) {
      if (process === undefined) continue;
      console.error(`--- ${member.name} (${member.peerUrl}) last ${LOG_TAIL_LINES} log lines ---`);
      console.error(tail(member.logFile, LOG_TAIL_LINES));
    }
  }

  /** Kills every process, waits for them to exit, frees the address block and removes the temp dir. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all([...this.slots.values()].map((slot) => slot.process?.kill()));
    this.block.release();
    rmSync(this.root, { recursive: true, force: true });
  }

  private slot(name: string): MemberSlot {
    const slot = this.slots.get(name);
    if (slot === undefined) throw new Error(`no member named ${name} in cluster ${this.token}`);
    return slot;
  }

  private process(name: string): EtcdProcess {
    const { process } = this.slot(name);
    if (process === undefined) throw new Error(`member ${name} was never started`);
    return process;
  }
}

function isRunning(slot: MemberSlot): boolean {
  return slot.process !== undefined && slot.process.exit === undefined;
}
