// Every OS process the simulator starts (boot scripts, etcd, Lambda workers) is registered here, so
// that nothing outlives the simulator: stop() ends them in order, and a process exit for any reason
// (error, Ctrl-C, a failed test, a SIGTERM nobody else handles, such as the test runner's on a
// timeout) kills whatever is left, synchronously, from signal-exit's hook.
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { onExit } from "signal-exit";

const live = new Set<number>();
let exitHookInstalled = false;

/** Tracks `pid` until it is stopped; when this process exits or dies of a signal, it is killed with SIGKILL. */
export function trackProcess(pid: number): void {
  live.add(pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    onExit(() => {
      for (const tracked of live) signal(tracked, "SIGKILL");
    });
  }
}

export function untrackProcess(pid: number): void {
  live.delete(pid);
}

/** Alive and not a zombie: an orphaned etcd may never be reaped where PID 1 is not an init. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Sends `sig` to `pid`; false when the process is gone already. */
export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. A stopped process is
 * continued first so that it can act on SIGTERM. */
export async function stopProcess(pid: number, graceMs = 5000): Promise<void> {
  if (signal(pid, "SIGTERM")) {
    signal(pid, "SIGCONT");
    const deadline = Date.now() + graceMs;
    while (isRunning(pid) && Date.now() < deadline) await sleep(50);
    if (isRunning(pid)) {
      signal(pid, "SIGKILL");
      // Bounded: a process that cannot die (stuck in the kernel) must not hang the caller.
      const killDeadline = Date.now() + 2000;
      while (isRunning(pid) && Date.now() < killDeadline) await sleep(20);
    }
  }
  untrackProcess(pid);
}
