// Waits for a test etcd member to answer GET /health with {"health":"true"} (it has a leader and no
// alarm), failing fast if its process exits meanwhile.
import { setTimeout as sleep } from "node:timers/promises";
import type { ExitStatus } from "./process";

const POLL_MS = 100;
const REQUEST_TIMEOUT_MS = 500;

export async function isHealthy(clientUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const body = (await response.json()) as { health?: unknown };
    return body.health === "true";
  } catch {
    return false;
  }
}

export async function waitHealthy(
  clientUrl: string,
  timeoutMs: number,
  exitOf: () => ExitStatus | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const exit = exitOf();
    if (exit !== undefined) {
      throw new Error(
        `etcd at ${clientUrl} exited (code ${exit.code}, signal ${exit.signal}) before it was healthy`,
      );
    }
    if (await isHealthy(clientUrl)) return;
    await sleep(POLL_MS);
  }
  throw new Error(`etcd at ${clientUrl} was not healthy within ${timeoutMs} ms`);
}
