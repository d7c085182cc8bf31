// A lock between processes on this machine: a directory that only one of them can create. Simulators
// and benches starting at the same time (parallel test files) take it before they build into shared
// folders (dist/), so no build runs over another. A lock older than `staleMs` was left by a process
// that died holding it and is taken over.
import { mkdirSync, rmSync, statSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

export class LockTimeoutError extends Error {
  override readonly name = "LockTimeoutError";
}

/** Runs `work` while holding the lock directory `path`. */
export async function withDirLock<T>(path: string, work: () => Promise<T>, staleMs = 180_000): Promise<T> {
  await acquire(path, staleMs);
  try {
    return await work();
  } finally {
    rmSync(path, { recursive: true, force: true });
  }
}

async function acquire(path: string, staleMs: number): Promise<void> {
  const deadline = Date.now() + staleMs;
  for (;;) {
    try {
      mkdirSync(path);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const lockedAt = statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
    if (Date.now() - lockedAt > staleMs) {
      rmSync(path, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new LockTimeoutError(`another process holds ${path} for too long`);
    await sleep(200);
  }
}
