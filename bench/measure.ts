// Timing helpers of the benchmark: medians of repeated runs, a monotonic stopwatch and a poll loop
// whose interval is the same for every contender, so no side is favoured by how often it is looked at.
import { setTimeout as sleep } from "node:timers/promises";

/** How often every "is it done yet?" check runs, for etcd-asg and the baselines alike. */
export const POLL_MS = 100;

export class BenchTimeoutError extends Error {
  override readonly name = "BenchTimeoutError";
}

export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new RangeError("median of no samples");
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? 0;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? 0) + upper) / 2;
}

/** Milliseconds since `start` (a value of now()). */
export function since(start: number): number {
  return now() - start;
}

export function now(): number {
  return performance.now();
}

/** Polls `check` every POLL_MS until it is true; throws naming `what` after `timeoutMs`. */
export async function pollUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new BenchTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

/** Runs `step` again while it throws, every POLL_MS, for at most `timeoutMs`; then rethrows. */
export async function retry<T>(what: string, step: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await step();
    } catch (error) {
      if (Date.now() > deadline)
        throw new BenchTimeoutError(`${what} still failing after ${timeoutMs} ms`, { cause: error });
      await sleep(POLL_MS);
    }
  }
}
