// The cache of synthesized cloud assemblies (dist/stack/<hash>/): which processes use one, and
// pruning the rest. A simulator's functions load their bundles from its assembly at every cold
// start, for as long as the simulator runs, so the cache must not prune it meanwhile (parallel test
// files synthesize more contexts than the cache keeps). A process claims an assembly with an empty
// file named by its PID in the assembly's `.in-use/`; a claim of a process that has exited no longer
// counts.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const IN_USE = ".in-use";

/** Claims `dir` for this process and marks it used now; false when `dir` does not exist (pruned). */
export function claimAssembly(dir: string): boolean {
  try {
    mkdirSync(join(dir, IN_USE));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return false;
    if (code !== "EEXIST") throw error;
  }
  try {
    writeFileSync(join(dir, IN_USE, String(process.pid)), "");
    const now = new Date();
    utimesSync(dir, now, now);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}

/** Removes all but the `keep` most recently used assemblies in `cache`, except those a live process
 * (this one included) has claimed. Run under the build lock. Each is renamed away before its claims
 * are read, so a process claiming it meanwhile either finds it gone (and takes the lock, then looks
 * again) or is seen, and the assembly is put back. */
export function pruneAssemblies(cache: string, keep: number): void {
  const dirs = readdirSync(cache)
    .filter((entry) => /^[0-9a-f]{20}$/.test(entry))
    .map((entry) => ({ path: join(cache, entry), mtime: statSync(join(cache, entry)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const { path } of dirs.slice(keep)) {
    const doomed = `${path}.${process.pid}.pruning`;
    renameSync(path, doomed);
    if (claimed(doomed)) renameSync(doomed, path);
    else rmSync(doomed, { recursive: true, force: true });
  }
}

/** True when a live process has claimed `dir`. */
function claimed(dir: string): boolean {
  let pids: string[];
  try {
    pids = readdirSync(join(dir, IN_USE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
  return pids.some((name) => alive(Number(name)));
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
