// Counts what an strace -f log of execve, clone, clone3, fork and vfork says was spawned: processes
// (a fork or a clone without CLONE_THREAD that succeeded; threads are not processes) and programs run
// (an execve that succeeded), by program name.

export interface ProcessCount {
  /** Processes created (forks), the first one traced not included. */
  readonly processes: number;
  /** Programs run, by basename, most run first. */
  readonly programs: ReadonlyArray<readonly [string, number]>;
}

export function countProcesses(trace: string): ProcessCount {
  let processes = 0;
  const programs = new Map<string, number>();
  // strace -f splits a call another process interrupts: "<unfinished ...>", then "<... resumed>".
  const unfinished = new Map<string, string>();
  for (const line of trace.split("\n")) {
    const open = /^(\d+)\s+(\w+\(.*) <unfinished \.\.\.>$/.exec(line);
    if (open !== null) {
      unfinished.set(open[1] ?? "", open[2] ?? "");
      continue;
    }
    const resumed = /^(\d+)\s+<\.\.\. \w+ resumed>(.*)$/.exec(line);
    const whole =
      resumed === null
        ? line.replace(/^\d+\s+/, "")
        : `${unfinished.get(resumed[1] ?? "") ?? ""}${resumed[2]}`;
    if (resumed !== null) unfinished.delete(resumed[1] ?? "");
    const call = /^(execve|clone3?|v?fork)\((.*)\)\s+=\s+(-?\d+)/.exec(whole);
    if (call === null) continue;
    const [, name = "", args = "", result = ""] = call;
    if (name === "execve") {
      if (result !== "0") continue;
      const program = /^"([^"]*)"/.exec(args)?.[1]?.split("/").at(-1) ?? "?";
      programs.set(program, (programs.get(program) ?? 0) + 1);
    } else if (Number(result) > 0 && !args.includes("CLONE_THREAD")) {
      processes += 1;
    }
  }
  return { processes, programs: [...programs].sort((a, b) => b[1] - a[1]) };
}
