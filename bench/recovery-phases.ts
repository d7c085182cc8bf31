// Where a recovered generation's time goes after the reconciler opened it, read off the node-API
// invocations the simulator reports (wall-clock ms): the phases of the last node to be ready.
import type { InvocationRecord } from "../local/simulator/lambda-function";
import { lastReady, nodeApiCaller, nodeApiPath } from "./critical-path";

/**
 * The node-API requests of the last node to be ready, after the generation opened: its config long
 * poll answered with the restore and its certificates, then the boot script's download, check,
 * restore, etcd's start and health wait (its ready report starts once etcd answers healthy), until
 * the cluster was seen serving at `servedAt`; after it, off the clock, its ready report (completing
 * the launch) and the group's InService at `inServiceAt`. The simulator's cold starts on that path
 * shown apart.
 */
export function restorePhases(
  records: readonly InvocationRecord[],
  openedAt: number,
  servedAt: number,
  inServiceAt: number,
): Record<string, number> {
  const after = records.filter((r) => r.endedAt >= openedAt && nodeApiCaller(r) !== undefined);
  const last = lastReady(after, [...new Set(after.map((r) => nodeApiCaller(r) ?? ""))]);
  const api = after.filter((r) => nodeApiCaller(r) === last).sort((a, b) => a.invokedAt - b.invokedAt);
  const ended = (route: string) => api.find((r) => nodeApiPath(r).endsWith(route))?.endedAt;
  const config = ended("/config");
  const ready = api.filter((r) => nodeApiPath(r).endsWith("/ready"));
  const firstReady = ready[0]?.invokedAt;
  const readyEnded = ready.at(-1)?.endedAt;
  if (config === undefined || firstReady === undefined || readyEnded === undefined)
    throw new Error(
      `the last node to be ready (${last}) made no config and ready requests after the generation opened`,
    );
  return {
    "opened → restore and certificates handed (the config long poll answers)": config - openedAt,
    "download, check, restore, etcd start and health": firstReady - config,
    "seen serving (the bench's poll)": servedAt - firstReady,
    "of which simulator: cold starts": api.reduce((sum, r) => sum + r.coldStartMs, 0),
    [`after serving: ready report (complete; ${ready.length} request${ready.length > 1 ? "s" : ""}) ends`]:
      readyEnded - servedAt,
    "after serving: InService": inServiceAt - servedAt,
  };
}
