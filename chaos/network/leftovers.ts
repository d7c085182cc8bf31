// What network faults (and the other chaos faults that touch the machine) may leave behind, and the
// sweeper that removes what a dead process left. Everything a controller creates carries its owner's
// `<pid>_<start>` in its name (nft table, iptables rule comment, queue reader's argv, tag lock), so a
// leftover's owner can be told alive or dead even after its PID was reused. Network namespaces, loop
// devices and qdiscs on lo are only reported: nothing here creates them, and a run must not end with one.
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ownerAlive, run, runSync } from "./system";

/** `etcdasg_<pid>_<start>_t<tag>`: a controller's table name, rule comment and queue reader's label. */
export const OWNED_NAME = /^etcdasg_(\d+_\d+)_t(\d+)$/;
export const TAG_LOCK_DIR = join(tmpdir(), "etcd-asg-network-tags");
export const DELAYER_SCRIPT = "delayer.py";

export function ownedName(owner: string, tag: number): string {
  return `etcdasg_${owner}_t${tag}`;
}

export type LeftoverKind =
  | "nft-table"
  | "iptables-rule"
  | "queue-reader"
  | "tag-lock"
  | "netns"
  | "loop-device"
  | "qdisc";

export interface Leftover {
  readonly kind: LeftoverKind;
  /** What to look for: a table or namespace name, a rule, a PID, a device. */
  readonly name: string;
  /** `<pid>_<start>` of the process that made it, when its name says. */
  readonly owner?: string;
  /** The `etcdasg_<pid>_<start>_t<tag>` of the controller that made it, when known. */
  readonly label?: string;
  /** False when the owner is known to be dead: the sweeper removes it. */
  readonly ownerAlive: boolean;
}

function owned(kind: LeftoverKind, name: string, label: string): Leftover | undefined {
  const match = OWNED_NAME.exec(label);
  if (match?.[1] === undefined) return undefined;
  return { kind, name, owner: match[1], label, ownerAlive: ownerAlive(match[1]) };
}

function tryRun(command: string, args: readonly string[]): string {
  try {
    return runSync(command, args);
  } catch {
    return "";
  }
}

function tables(): Leftover[] {
  return tryRun("nft", ["list", "tables"])
    .split("\n")
    .map((line) => /^table inet (\S+)$/.exec(line.trim())?.[1])
    .flatMap((name) => (name === undefined ? [] : (owned("nft-table", name, name) ?? [])));
}

function iptablesRules(): Leftover[] {
  return tryRun("iptables-legacy", ["-w", "5", "-t", "mangle", "-S", "OUTPUT"])
    .split("\n")
    .flatMap((line) => {
      const comment = /--comment (\S+)/.exec(line)?.[1];
      return comment === undefined ? [] : (owned("iptables-rule", line.trim(), comment) ?? []);
    });
}

function queueReaders(): Leftover[] {
  const found: Leftover[] = [];
  for (const pid of readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    const script = argv.findIndex((arg) => arg.endsWith(`/${DELAYER_SCRIPT}`));
    const label = script >= 0 ? argv[script + 2] : undefined;
    const leftover = label === undefined ? undefined : owned("queue-reader", pid, label);
    if (leftover !== undefined) found.push(leftover);
  }
  return found;
}

function tagLocks(): Leftover[] {
  let entries: string[];
  try {
    entries = readdirSync(TAG_LOCK_DIR);
  } catch {
    return [];
  }
  return entries.flatMap((tag) => {
    let holder: string;
    try {
      holder = readFileSync(join(TAG_LOCK_DIR, tag), "utf8").trim();
    } catch {
      return [];
    }
    const label = ownedName(holder, Number(tag));
    return [{ kind: "tag-lock" as const, name: tag, owner: holder, label, ownerAlive: ownerAlive(holder) }];
  });
}

function namespaces(): Leftover[] {
  return tryRun("ip", ["netns", "list"])
    .split("\n")
    .map((line) => line.trim().split(" ")[0] ?? "")
    .filter((name) => name.startsWith("etcdasg") || name.startsWith("etcd-asg"))
    .map((name) => owned("netns", name, name) ?? { kind: "netns", name, ownerAlive: true });
}

function loopDevices(): Leftover[] {
  let devices: string[];
  try {
    devices = readdirSync("/sys/block").filter((name) => name.startsWith("loop"));
  } catch {
    return [];
  }
  return devices.flatMap((device) => {
    let backing: string;
    try {
      backing = readFileSync(`/sys/block/${device}/loop/backing_file`, "utf8").trim();
    } catch {
      return [];
    }
    return /etcd-?asg/.test(backing)
      ? [{ kind: "loop-device" as const, name: `/dev/${device} (${backing})`, ownerAlive: true }]
      : [];
  });
}

/** Anything but the default on lo: no fault here uses a qdisc, so one is somebody's leftover. */
function loQdiscs(): Leftover[] {
  return tryRun("tc", ["qdisc", "show", "dev", "lo"])
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("qdisc noqueue 0: root"))
    .map((line) => ({ kind: "qdisc" as const, name: `lo: ${line}`, ownerAlive: true }));
}

/** Everything of ours on the machine, live owners' included (filter on `owner` for one process's). */
export function findLeftovers(): Leftover[] {
  return [
    ...tables(),
    ...iptablesRules(),
    ...queueReaders(),
    ...tagLocks(),
    ...namespaces(),
    ...loopDevices(),
    ...loQdiscs(),
  ];
}

/** One line per leftover, for an error or a report. */
export function describeLeftovers(leftovers: readonly Leftover[]): string {
  return leftovers
    .map(
      (l) =>
        `${l.kind} ${l.name}${l.owner === undefined ? "" : ` (owner ${l.owner}${l.ownerAlive ? "" : ", dead"})`}`,
    )
    .join("\n");
}

/** Removes what dead processes left: their tables, rules, queue readers and tag locks (and network
 * namespaces named after a dead owner). Returns what it removed; what it could not remove is thrown. */
export async function sweepLeftovers(): Promise<Leftover[]> {
  const dead = findLeftovers().filter((leftover) => !leftover.ownerAlive);
  const failures: string[] = [];
  for (const leftover of dead) {
    try {
      await remove(leftover);
    } catch (error) {
      failures.push(`${leftover.kind} ${leftover.name}: ${(error as Error).message}`);
    }
  }
  if (failures.length > 0) throw new Error(`could not remove leftovers:\n${failures.join("\n")}`);
  return dead;
}

async function remove(leftover: Leftover): Promise<void> {
  switch (leftover.kind) {
    case "nft-table":
      await run("nft", ["delete", "table", "inet", leftover.name]);
      return;
    case "iptables-rule":
      await run("iptables-legacy", ["-w", "5", "-t", "mangle", ...ruleDeletion(leftover.name)]);
      return;
    case "queue-reader":
      try {
        process.kill(Number(leftover.name), "SIGKILL");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
      }
      return;
    case "tag-lock":
      rmSync(join(TAG_LOCK_DIR, leftover.name), { force: true });
      return;
    case "netns":
      await run("ip", ["netns", "delete", leftover.name]);
      return;
    default:
      throw new Error(`${leftover.kind} is reported, not removed`);
  }
}

/** `-A OUTPUT ...` as iptables -S prints it, turned into the arguments that delete it. The comment and
 * every other part are single words, so splitting on spaces is exact. */
export function ruleDeletion(rule: string): string[] {
  const words = rule.trim().split(/\s+/);
  if (words[0] !== "-A") throw new Error(`not an appended rule: ${rule}`);
  return ["-D", ...words.slice(1)];
}

/** The before-stop check of a run: what process `pid` owns that is still there (after its faults were
 * stopped this must be empty), with every network namespace, loop device and qdisc on lo of ours,
 * which no run may leave whoever made them. */
export function runLeftovers(pid = process.pid): Leftover[] {
  return findLeftovers().filter(
    (leftover) =>
      leftover.owner?.startsWith(`${pid}_`) === true ||
      (leftover.owner === undefined && ["netns", "loop-device", "qdisc"].includes(leftover.kind)),
  );
}
