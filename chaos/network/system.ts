// The commands network faults run (nft, iptables-legacy, python3), the one place their failures are
// translated, and the checks that say why faults are unavailable on this machine (not root, a tool or
// a kernel feature missing) so that callers can skip with that reason.
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";

export class NetworkFaultsError extends Error {
  override readonly name = "NetworkFaultsError";
}

/** Network faults cannot run here; `message` starts with "unavailable: " and says why. */
export class NetworkFaultsUnavailableError extends Error {
  override readonly name = "NetworkFaultsUnavailableError";
}

/** The sbin directories are not on every user's PATH. */
const PATH = `${process.env.PATH ?? "/usr/bin:/bin"}:/usr/sbin:/sbin`;

function describe(command: string, args: readonly string[], input: string | undefined): string {
  return `${command} ${args.join(" ")}${input === undefined ? "" : `\n${input}`}`;
}

/** Runs `command`, feeding it `input`; rejects with its stderr when it fails. */
export function run(command: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      env: { ...process.env, PATH },
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once("error", (error) =>
      reject(new NetworkFaultsError(`${command} could not run: ${error.message}`, { cause: error })),
    );
    child.once("close", (code) => {
      if (code === 0) resolve(stdout);
      else
        reject(
          new NetworkFaultsError(`${describe(command, args, input)}\nfailed (${code}): ${stderr.trim()}`),
        );
    });
    // A command that fails early stops reading; its exit status tells why, not our EPIPE.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(input);
  });
}

/** `run`, blocking: for the exit hook, where nothing asynchronous runs any more. */
export function runSync(command: string, args: readonly string[], input?: string): string {
  try {
    return execFileSync(command, args, {
      input: input ?? "",
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, PATH },
    }).toString();
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim() ?? "";
    throw new NetworkFaultsError(
      `${describe(command, args, input)}\nfailed: ${stderr || (error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

export const nft = (script: string) => run("nft", ["-f", "-"], script);
export const iptables = (args: readonly string[]) => run("iptables-legacy", ["-w", "5", ...args]);

/** True when `command versionArgs` cannot run here (not installed, or broken). */
export function commandMissing(command: string, versionArgs: readonly string[]): boolean {
  try {
    runSync(command, versionArgs);
    return false;
  } catch {
    return true;
  }
}

/** Why no network fault can run here, or undefined when they can (root, nft, and a kernel that takes the
 * rules). Synchronous so a test file can pass it to `describe(..., { skip })`. */
export function unavailableReason(): string | undefined {
  const uid = process.getuid?.();
  if (uid !== 0) return `unavailable: network faults need root (running as uid ${uid})`;
  if (commandMissing("nft", ["--version"])) {
    return "unavailable: nft not found (Debian: apt-get install nftables)";
  }
  // The kernel must accept every construct the rules use; a throwaway table proves it.
  const table = `etcdasg_probe_${process.pid}`;
  try {
    runSync(
      "nft",
      ["-f", "-"],
      [
        `table inet ${table} {`,
        "  map m { type uid : mark; }",
        "  chain c { type filter hook output priority mangle - 10; policy accept;",
        "    tcp flags & (syn | ack) == syn ct mark set meta skuid map @m",
        "    meta skuid 1 ct direction reply ct mark 1 numgen random mod 1000 < 500 counter meta mark set meta mark or 0x01800000",
        "  }",
        "}",
        `delete table inet ${table}`,
      ].join("\n"),
    );
  } catch (error) {
    return `unavailable: the kernel refused the fault rules: ${(error as Error).message.split("\n").pop()}`;
  }
  return undefined;
}

/** Why delays cannot run here though other faults can: they need iptables-legacy (this kernel's
 * nftables has no queue statement, iptables' NFQUEUE target is the way to hand packets to a reader) and
 * python3 (the reader speaks netlink, which Node cannot). */
export function delayUnavailableReason(): string | undefined {
  const general = unavailableReason();
  if (general !== undefined) return general;
  if (commandMissing("iptables-legacy", ["--version"])) {
    return "unavailable: iptables-legacy not found, delays need it (Debian: apt-get install iptables)";
  }
  if (commandMissing("python3", ["--version"])) {
    return "unavailable: python3 not found, delays need it (Debian: apt-get install python3)";
  }
  return undefined;
}

/** The kernel's start time of `pid` (clock ticks since boot), or undefined when it is not running. With
 * the PID it names one process for good: a PID alone may be reused once its owner died. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 22, counted after the command name, which may hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** `<pid>_<start>` of this process: owners' names in tables, rules and locks. */
export function ownerToken(pid = process.pid): string {
  const start = processStart(pid);
  if (start === undefined) throw new NetworkFaultsError(`no /proc entry for pid ${pid}`);
  return `${pid}_${start}`;
}

/** Whether the process a `<pid>_<start>` token names still runs. */
export function ownerAlive(token: string): boolean {
  const [pid, start] = token.split("_");
  return pid !== undefined && start !== undefined && processStart(Number(pid)) === start;
}
