// One running etcd server process of a test cluster: spawns it with its stderr in a log file, sends it
// signals and waits for it to exit. Every live process is also killed if the test process itself exits
// or dies of a signal (the test runner's SIGTERM on a timeout), so a crashed test run leaves no etcd behind.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { onExit } from "signal-exit";

const live = new Set<ChildProcess>();
onExit(() => {
  for (const child of live) child.kill("SIGKILL");
});

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class EtcdProcess {
  readonly exited: Promise<ExitStatus>;
  private exitStatus: ExitStatus | undefined;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        live.delete(child);
        this.exitStatus = { code, signal };
        resolve(this.exitStatus);
      });
    });
  }

  /** `uid`: run etcd under that numeric UID and GID (its data dir must be its own) instead of ours. */
  static start(args: readonly string[], logFile: string, options: { uid?: number } = {}): EtcdProcess {
    const log = openSync(logFile, "a");
    try {
      // A clean environment: ETCD_* variables of the caller would override the flags.
      const child = spawn("etcd", args, {
        stdio: ["ignore", log, log],
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
        ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
      });
      live.add(child);
      return new EtcdProcess(child);
    } finally {
      closeSync(log);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Undefined while the process runs. */
  get exit(): ExitStatus | undefined {
    return this.exitStatus;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.exitStatus === undefined) this.child.kill(signal);
  }

  /**
   * SIGSTOP, then waits until every thread is stopped: a multi-threaded process runs on for a moment
   * after kill(2) returns (until one of its threads takes the signal), long enough on a loaded
   * machine to answer one more request.
   */
  async stop(timeoutMs = 5000): Promise<void> {
    this.signal("SIGSTOP");
    const pid = this.child.pid;
    const deadline = Date.now() + timeoutMs;
    while (pid !== undefined && !allThreadsStopped(pid)) {
      if (Date.now() > deadline)
        throw new Error(`etcd (pid ${pid}) not stopped ${timeoutMs} ms after SIGSTOP`);
      await sleep(5);
    }
  }

  /** SIGKILL (also works on a stopped process) and wait until the kernel has reaped it. */
  async kill(): Promise<ExitStatus> {
    this.signal("SIGKILL");
    return this.exited;
  }
}

/** The last `lines` lines of a log file, or a note that it is missing. */
export function tail(logFile: string, lines: number): string {
  try {
    return readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch (error) {
    return `(no log at ${logFile}: ${(error as Error).message})`;
  }
}

/** Every thread of `pid` is in state T (stopped); a thread that is gone counts as stopped. */
function allThreadsStopped(pid: number): boolean {
  return readdirSync(`/proc/${pid}/task`).every((tid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2).startsWith("T");
    } catch {
      return true;
    }
  });
}
