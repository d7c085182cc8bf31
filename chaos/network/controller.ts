// Real network faults on etcd's traffic over loopback: isolation, partitions, one-way loss, added
// latency and the control plane cut off from a node, each healed on demand and all of them at stop.
//
// Mechanism (chosen after prototyping the candidates on this machine: Debian 12, kernel 6.x, 2 cores).
// Every process whose packets a fault must tell apart runs under its own numeric UID (identity.ts);
// nftables matches the sender by that UID in the output hook and the receiver by its address and etcd
// ports, or, for replies on a connection the receiver opened, by the initiator's UID stamped into the
// conntrack mark (rules.ts). Drops happen on the receiving side of loopback; delays go through an
// NFQUEUE to a small reader (delayer.py), because this kernel has no netem (nor the nft queue
// statement, nor the fw and prio classifiers): `tc qdisc add dev lo root netem` says "unknown qdisc".
// Rejected: a cgroup v2 per node (`socket cgroupv2` matches here, even on the receiving side) needs
// cgroup directories created, filled before exec and swept, and a writable cgroup2 mount; a network
// namespace per node would move each node's IMDS server, boot script and etcd inside it and put the
// simulator's host-side clients behind routes; TCP proxies change the addresses etcd advertises,
// terminate TCP twice (stalls, never packet loss) and still need the UID to tell peers apart. A UID
// needs only `spawn({ uid, gid })` (or setpriv) and a data dir owned by it, and leaves nothing behind.
// Measured in the prototype: 100 ms added to a node's egress gave TCP connects of 100.3-101.7 ms
// (0.02 ms untouched); 50% one-way drop let 93-114 of 200 datagrams through in that direction and 200
// of 200 the other way; an isolated leader was replaced within 0.6 s and its peers logged "lost TCP
// streaming connection" within 5 s (etcd's stream read timeout); one `nft -f` transaction takes ~6 ms.
//
// Crash safety: every table, rule, queue reader and tag lock carries the owner's `<pid>_<start>`;
// `stop()` removes them, an exit hook does so synchronously if the process ends without it, and
// `start()` first sweeps what dead owners left (leftovers.ts).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { onExit } from "signal-exit";
import { QueueReader } from "./delayer";
import { isNodeIdentity, type NetworkIdentity, type NodeIdentity } from "./identity";
import { describeLeftovers, findLeftovers, ownedName, sweepLeftovers, TAG_LOCK_DIR } from "./leftovers";
import {
  deleteChainsScript,
  type Edge,
  type FaultAction,
  type FaultRules,
  faultChainScript,
  InvalidFaultError,
  MARK,
  outChainScript,
  registerScript,
  tableScript,
  validateAction,
} from "./rules";
import {
  delayUnavailableReason,
  iptables,
  NetworkFaultsError,
  NetworkFaultsUnavailableError,
  nft,
  ownerAlive,
  ownerToken,
  run,
  runSync,
  unavailableReason,
} from "./system";

export { delayUnavailableReason, NetworkFaultsError, NetworkFaultsUnavailableError, unavailableReason };

/** NFQUEUE numbers are this plus the controller's tag. */
const QUEUE_BASE = 47000;
const MAX_TAG = 255;

export type FaultId = number;

export type NetworkFaultKind = "isolate" | "partition" | "drop-one-way" | "delay" | "cut-from-control-plane";

export interface ActiveNetworkFault {
  readonly id: FaultId;
  readonly kind: NetworkFaultKind;
  readonly description: string;
}

export interface PacketCount {
  readonly packets: number;
  readonly bytes: number;
}

export interface NetworkFaultsOptions {
  /** Progress lines (faults armed and healed, leftovers swept). */
  readonly log?: (line: string) => void;
  /**
   * The Lambda workers' identity (`controlPlaneIdentity(block prefix)`), registered at start so that
   * workers forked later under it are tagged, and the default of `cutFromControlPlane`.
   * @default undefined: `cutFromControlPlane` must be given one
   */
  readonly controlPlane?: NetworkIdentity;
}

/** A delay's target: everything a node sends, or what one identity sends to another. */
export type DelayTarget = NodeIdentity | { readonly from: NetworkIdentity; readonly to: NetworkIdentity };

interface Fault {
  readonly kind: NetworkFaultKind;
  readonly rules: FaultRules;
}

const live = new Set<NetworkFaults>();

export class NetworkFaults {
  private readonly faults = new Map<FaultId, Fault>();
  private readonly identities = new Map<number, NetworkIdentity>();
  private nextId = 1;
  private reader: QueueReader | undefined;
  private queueRule: string[] | undefined;
  private stopped = false;
  /** nft changes run one at a time, in call order, so the kernel's rules follow `faults`. */
  private serial: Promise<unknown> = Promise.resolve();

  private constructor(
    /** `etcdasg_<pid>_<start>_t<tag>`: the table's name, the queue rule's comment, the reader's label. */
    readonly name: string,
    private readonly tag: number,
    private readonly log: (line: string) => void,
    private readonly controlPlane: NetworkIdentity | undefined,
  ) {}

  /** Why faults cannot run on this machine ("unavailable: ..."), or undefined. */
  static unavailableReason(): string | undefined {
    return unavailableReason();
  }

  /** Sweeps what dead controllers left, then creates this controller's (empty) table. Throws
   * NetworkFaultsUnavailableError, whose message says why, when faults cannot run here. */
  static async start(options: NetworkFaultsOptions = {}): Promise<NetworkFaults> {
    const reason = unavailableReason();
    if (reason !== undefined) throw new NetworkFaultsUnavailableError(reason);
    const log = options.log ?? (() => undefined);
    const swept = await sweepLeftovers();
    if (swept.length > 0) log(`network: removed leftovers of dead runs:\n${describeLeftovers(swept)}`);
    const owner = ownerToken();
    const tag = lockTag(owner);
    const controller = new NetworkFaults(ownedName(owner, tag), tag, log, options.controlPlane);
    try {
      await nft(`${tableScript(controller.name, tag)}\n${outChainScript(controller.name, [])}`);
    } catch (error) {
      releaseTag(tag, owner);
      throw error;
    }
    live.add(controller);
    installExitHooks();
    if (options.controlPlane !== undefined) await controller.register(options.controlPlane);
    return controller;
  }

  /**
   * Makes the identities' new connections known to faults. Call it before their processes start: a
   * connection an identity opened earlier is not tagged with its initiator, and faults would miss the
   * replies on it, so that case is refused. A UID registered again (an instance that took over a
   * terminated one's address) keeps its tagging under the new name.
   */
  register(...identities: readonly NetworkIdentity[]): Promise<void> {
    return this.change(async () => {
      this.assertRunning();
      const byUid = new Map(identities.map((identity) => [identity.uid, identity]));
      const fresh = [...byUid.values()].filter((identity) => !this.identities.has(identity.uid));
      for (const identity of identities) {
        if (this.identities.has(identity.uid)) this.identities.set(identity.uid, identity);
      }
      if (fresh.length === 0) return;
      const early = await openedConnections(fresh.map((identity) => identity.uid));
      if (early.length > 0) {
        throw new NetworkFaultsError(
          `register identities before their processes start; these already opened connections:\n${early.join("\n")}`,
        );
      }
      await nft(registerScript(this.name, fresh));
      for (const identity of fresh) this.identities.set(identity.uid, identity);
    });
  }

  /** Cuts `node` off: nothing reaches its client or peer port and nothing it sends arrives, both ways. */
  isolate(node: NodeIdentity): Promise<FaultId> {
    return this.add("isolate", `isolate ${node.name}`, { kind: "drop", probability: 1 }, [
      { from: node, to: "any" },
      { from: "any", to: node },
    ]);
  }

  /** Splits `a` from `b`: no packet between the groups, either way; each side still talks within itself
   * and to everything else (the test process, the control plane). */
  async partition(a: readonly NodeIdentity[], b: readonly NodeIdentity[]): Promise<FaultId> {
    if (a.length === 0 || b.length === 0)
      throw new InvalidFaultError("a partition needs a node on each side");
    const overlap = a.filter((x) => b.some((y) => y.uid === x.uid));
    if (overlap.length > 0) {
      throw new InvalidFaultError(`${overlap.map((n) => n.name).join(", ")} on both sides of a partition`);
    }
    const edges = a.flatMap((x) =>
      b.flatMap((y): Edge[] => [
        { from: x, to: y },
        { from: y, to: x },
      ]),
    );
    const names = (group: readonly NodeIdentity[]) => group.map((n) => n.name).join(",");
    return this.add(
      "partition",
      `partition ${names(a)} | ${names(b)}`,
      { kind: "drop", probability: 1 },
      edges,
    );
  }

  /** Loses each packet from `from` to `to` with `probability` (0 to 1); the other way is untouched. */
  dropOneWay(from: NetworkIdentity, to: NetworkIdentity, probability: number): Promise<FaultId> {
    return this.add(
      "drop-one-way",
      `drop ${Math.round(probability * 100)}% ${from.name} -> ${to.name}`,
      { kind: "drop", probability },
      [{ from, to }],
    );
  }

  /** Holds every packet `target` sends (a node: to anyone but itself; a pair: from one to the other)
   * for `ms` ± `jitterMs`, so round trips through it rise by `ms`. */
  async delay(target: DelayTarget, ms: number, jitterMs = 0): Promise<FaultId> {
    const action: FaultAction = { kind: "delay", ms, jitterMs };
    validateAction(action);
    const edge: Edge = "from" in target ? { from: target.from, to: target.to } : { from: target, to: "any" };
    const who = "from" in target ? `${target.from.name} -> ${target.to.name}` : target.name;
    await this.change(() => this.ensureQueue());
    return this.add("delay", `delay ${who} by ${ms}±${jitterMs} ms`, action, [edge]);
  }

  /** The Lambda workers (`controlPlane`, by default the one given at start) cannot reach `node`'s client
   * port; its peers still can. */
  async cutFromControlPlane(node: NodeIdentity, controlPlane = this.controlPlane): Promise<FaultId> {
    if (controlPlane === undefined) {
      throw new InvalidFaultError("no control plane identity: pass one, or start with { controlPlane }");
    }
    if (isNodeIdentity(controlPlane)) {
      throw new InvalidFaultError(
        `the control plane's identity is a client group, not a node (${controlPlane.name})`,
      );
    }
    return this.add(
      "cut-from-control-plane",
      `cut ${node.name} from ${controlPlane.name}`,
      { kind: "drop", probability: 1 },
      [
        { from: controlPlane, to: node },
        { from: node, to: controlPlane },
      ],
    );
  }

  heal(id: FaultId): Promise<void> {
    return this.change(async () => {
      this.assertRunning();
      const fault = this.faults.get(id);
      if (fault === undefined) throw new InvalidFaultError(`no active network fault ${id}`);
      this.faults.delete(id);
      await nft(`${outChainScript(this.name, this.rules())}\n${deleteChainsScript(this.name, [id])}`);
      this.log(`network: healed ${fault.rules.description} (fault ${id})`);
    });
  }

  healAll(): Promise<void> {
    return this.change(async () => {
      this.assertRunning();
      const ids = [...this.faults.keys()];
      if (ids.length === 0) return;
      this.faults.clear();
      await nft(`${outChainScript(this.name, [])}\n${deleteChainsScript(this.name, ids)}`);
      this.log(`network: healed all (${ids.length} faults)`);
    });
  }

  active(): ActiveNetworkFault[] {
    return [...this.faults].map(([id, fault]) => ({
      id,
      kind: fault.kind,
      description: fault.rules.description,
    }));
  }

  /** Packets the fault has matched so far (dropped or delayed; for a partial drop, the dropped ones): a
   * fault whose count stays 0 while its nodes talk did nothing. Throws for a delay whose queue reader
   * died, since its packets then pass undelayed. */
  async counters(id: FaultId): Promise<PacketCount> {
    const fault = this.faults.get(id);
    if (fault === undefined) throw new InvalidFaultError(`no active network fault ${id}`);
    if (fault.kind === "delay" && this.reader?.running !== true) {
      // Packets are still marked and counted, but pass undelayed (--queue-bypass): not a delay.
      throw new NetworkFaultsError(
        `delay ${id} is not applied: the queue reader ${this.reader?.ended ?? "is gone"}`,
      );
    }
    const listing = JSON.parse(await run("nft", ["-j", "list", "chain", "inet", this.name, `f${id}`])) as {
      nftables: { rule?: { expr: { counter?: PacketCount }[] } }[];
    };
    let packets = 0;
    let bytes = 0;
    for (const entry of listing.nftables) {
      for (const expr of entry.rule?.expr ?? []) {
        packets += expr.counter?.packets ?? 0;
        bytes += expr.counter?.bytes ?? 0;
      }
    }
    return { packets, bytes };
  }

  /** Heals everything and removes the table, the queue rule, the reader and the tag lock; each step is
   * tried whatever the others did, and the first failure is thrown at the end. */
  stop(): Promise<void> {
    return this.change(async () => {
      if (this.stopped) return;
      this.stopped = true;
      live.delete(this);
      this.faults.clear();
      const failures: unknown[] = [];
      const steps: (() => Promise<unknown> | undefined)[] = [
        // The queue rule goes before the reader, so no packet is queued with nobody left to release it.
        () =>
          this.queueRule === undefined ? undefined : iptables(["-t", "mangle", "-D", ...this.queueRule]),
        () => this.reader?.stop(),
        () => run("nft", ["delete", "table", "inet", this.name]),
        async () => releaseTag(this.tag, this.owner),
      ];
      for (const step of steps) await Promise.resolve(step()).catch((error: unknown) => failures.push(error));
      if (failures.length > 0) throw failures[0];
      this.log("network: stopped, no rule left");
    });
  }

  /** `stop()` for the exit hook: synchronous and best effort, each step tried whatever the others did. */
  stopSync(): void {
    if (this.stopped) return;
    this.stopped = true;
    live.delete(this);
    const steps: (() => void)[] = [
      () =>
        this.queueRule && runSync("iptables-legacy", ["-w", "5", "-t", "mangle", "-D", ...this.queueRule]),
      () => this.reader?.stopSync(),
      () => runSync("nft", ["delete", "table", "inet", this.name]),
      () => releaseTag(this.tag, this.owner),
    ];
    for (const step of steps) {
      try {
        step();
      } catch {
        // The sweeper of the next run removes whatever is left.
      }
    }
  }

  /** This controller's own leftovers on the machine (its table, rule, reader, lock): empty after stop. */
  leftovers(): ReturnType<typeof findLeftovers> {
    return findLeftovers().filter((leftover) => leftover.label === this.name);
  }

  private get owner(): string {
    return this.name.replace(/^etcdasg_/, "").replace(/_t\d+$/, "");
  }

  private rules(): FaultRules[] {
    return [...this.faults.values()].map((fault) => fault.rules);
  }

  private add(
    kind: NetworkFaultKind,
    description: string,
    action: FaultAction,
    edges: readonly Edge[],
  ): Promise<FaultId> {
    return this.change(async () => {
      this.assertRunning();
      for (const edge of edges) {
        for (const end of [edge.from, edge.to]) {
          if (end !== "any" && !this.identities.has(end.uid)) {
            throw new InvalidFaultError(
              `${end.name} (uid ${end.uid}) is not registered with this controller`,
            );
          }
        }
      }
      const id = this.nextId++;
      const rules: FaultRules = { id, description, edges, action };
      const script = faultChainScript(this.name, rules, this.tag);
      this.faults.set(id, { kind, rules });
      try {
        await nft(`${script}\n${outChainScript(this.name, this.rules())}`);
      } catch (error) {
        this.faults.delete(id);
        throw error;
      }
      this.log(`network: ${description} (fault ${id})`);
      return id;
    });
  }

  /** Starts the queue reader and the iptables rule that feeds it, once. */
  private async ensureQueue(): Promise<void> {
    this.assertRunning();
    if (this.reader?.running === true) return;
    const reason = delayUnavailableReason();
    if (reason !== undefined) throw new NetworkFaultsUnavailableError(reason);
    const queue = QUEUE_BASE + this.tag;
    this.reader = await QueueReader.start(queue, this.name);
    if (this.queueRule !== undefined) return;
    const mark = `0x${((this.tag << MARK.tagShift) >>> 0).toString(16)}/0x${((MARK.tagMask | MARK.drop) >>> 0).toString(16)}`;
    const rule = ["OUTPUT", "-m", "mark", "--mark", mark, "-m", "comment", "--comment", this.name];
    const target = ["-j", "NFQUEUE", "--queue-num", String(queue), "--queue-bypass"];
    await iptables(["-t", "mangle", "-A", ...rule, ...target]);
    this.queueRule = [...rule, ...target];
  }

  private assertRunning(): void {
    if (this.stopped) throw new NetworkFaultsError(`network faults ${this.name} are stopped`);
  }

  private change<T>(step: () => Promise<T>): Promise<T> {
    const next = this.serial.then(step);
    this.serial = next.catch(() => undefined);
    return next;
  }
}

/** Connections the given UIDs opened (their local end is 127.0.0.1, where loopback connects from). */
async function openedConnections(uids: readonly number[]): Promise<string[]> {
  const listing = await run("ss", ["-tnHe", "state", "connected"]);
  return listing
    .split("\n")
    .filter((line) => uids.some((uid) => line.includes(` uid:${uid} `)))
    .filter((line) => /\s127\.0\.0\.1:\d+\s/.test(line));
}

/** Takes a free tag (1-255) with a lock file holding the owner; a dead owner's lock is taken over. Two
 * live controllers never share a tag, so never a queue. */
function lockTag(owner: string): number {
  mkdirSync(TAG_LOCK_DIR, { recursive: true });
  const tags = Array.from({ length: MAX_TAG }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
  for (const tag of tags) {
    const path = join(TAG_LOCK_DIR, String(tag));
    if (writeLock(path, owner)) return tag;
    let holder = "";
    try {
      holder = readFileSync(path, "utf8").trim();
    } catch {
      // Released meanwhile: try to take it below.
    }
    if (holder !== "" && ownerAlive(holder)) continue;
    rmSync(path, { force: true });
    if (writeLock(path, owner)) return tag;
  }
  throw new NetworkFaultsError(
    `all ${MAX_TAG} network-fault tags are held by live processes (${TAG_LOCK_DIR})`,
  );
}

function writeLock(path: string, owner: string): boolean {
  try {
    writeFileSync(path, owner, { flag: "wx" });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

function releaseTag(tag: number, owner: string): void {
  const path = join(TAG_LOCK_DIR, String(tag));
  try {
    if (readFileSync(path, "utf8").trim() === owner) rmSync(path, { force: true });
  } catch {
    // Already gone.
  }
}

let hooksInstalled = false;

/** Removes every live controller's rules when the process exits without `stop()`, including on a
 * signal nobody else handles (signal-exit raises it again, so the process still dies of it). */
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  onExit(() => {
    for (const controller of [...live]) controller.stopSync();
  });
}
