// A control-plane function crashing mid-change. The simulator runs each function's bundle in a
// worker process of this process (local/simulator/lambda-function.ts); killing that worker with -9
// ends the running invocation as a crashed Lambda container would, and the next invocation cold
// starts. The workers are found through /proc by their parent and the bundle on their command line.
import { readdirSync, readFileSync } from "node:fs";

/** Kills (SIGKILL) the worker processes running `functionName`'s bundle; returns how many. */
export function crashFunction(functionName: string): number {
  const bundle = `dist/lambdas/${functionName}/lib/index.js`;
  let killed = 0;
  for (const pid of childPids(process.pid)) {
    if (!commandLine(pid).some((arg) => arg.endsWith(bundle))) continue;
    try {
      process.kill(pid, "SIGKILL");
      killed += 1;
    } catch {
      // It exited on its own meanwhile: nothing to crash.
    }
  }
  return killed;
}

function childPids(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the command name (which may hold spaces): state, then the parent's PID.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === parent) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return [];
  }
}
