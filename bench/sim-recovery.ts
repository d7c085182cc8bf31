// etcd-asg's side of the recovery figure, on the simulator: a snapshot (untimed), then every instance
// destroyed for good at once; timed until the cluster serves again: the group's desired number of new
// instances InService, each a healthy voter, under a new cluster ID (the old instances may still be
// in Terminating:Wait: their lifecycle actions are housekeeping, timed apart). When a reconcile pass
// declared the quorum lost for good (detection: the loss threshold, then the wait for the next pass)
// and when it opened the new generation are read off the reconciler's log (the timestamps its JSON
// logger writes); the steps after it, off the node-API invocations of the last node to be ready.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { clusterId } from "../local/simulator/etcd-client";
import type { Simulator } from "../local/simulator/simulator";
import { InvocationLog } from "./critical-path";
import { HealthProbe } from "./health-probe";
import { pollUntil } from "./measure";
import { restorePhases } from "./recovery-phases";
import { SimulatorStuckError, waitConverged } from "./sim-flows";

const RECOVERY_TIMEOUT_MS = 180_000;

export interface TimedRecovery {
  /** Loss → the pass that declared the quorum lost for good. */
  readonly detectMs: number;
  /** That declaration → serving again. */
  readonly recoveryMs: number;
  /** Where the recovery's time went, phase by phase (ms), and the housekeeping after it. */
  readonly phases: Record<string, number>;
}

/** Snapshot, a few more writes, then every instance destroyed for good: the recovery, timed. Returns
 * once the group and etcd agree again (the old instances gone), ready for the next rep. */
export async function simLoseAll(sim: Simulator, rep: number): Promise<TimedRecovery> {
  const tls = await sim.etcdTls();
  const before = await clusterId(sim.clientUrls(), tls);
  await sim.writeKeys(`bench/recovery-${rep}`, 20);
  const taken = (await sim.fn("snapshot").invoke({ operation: "snapshot" })) as { key?: string };
  if (taken.key === undefined) throw new Error(`no snapshot was taken: ${JSON.stringify(taken)}`);
  const lost = sim.instances().map((i) => i.id);
  const log = new InvocationLog(sim);
  const probe = new HealthProbe(tls);
  const lostAt = Date.now();
  let servedAt: number;
  try {
    await Promise.all(lost.map((id) => sim.killInstance(id)));
    sim.note(`bench: destroyed ${lost.join(", ")} for good`);
    let reason: string | undefined;
    try {
      await pollUntil(
        "a cluster of new instances serving under a new cluster ID",
        async () => {
          reason = await notServing(sim, lost, before, probe);
          return reason === undefined;
        },
        RECOVERY_TIMEOUT_MS,
      );
    } catch (error) {
      throw new SimulatorStuckError(sim.root, `${(error as Error).message}; last: ${reason}`, {
        cause: error,
      });
    }
    servedAt = Date.now();
    sim.note("bench: serving again");
    await waitConverged(sim, "the old instances' terminations");
  } finally {
    log.stop();
    probe.close();
  }
  const convergedAt = Date.now();
  const reconciler = logEntries(sim, "reconciler", lostAt);
  const declared = reconciler.find((e) => e.message === "quorum lost for good")?.at;
  const opened = reconciler.find((e) => e.message === "opened a new cluster generation")?.at;
  if (declared === undefined || opened === undefined)
    throw new Error("recovered without the reconciler's log lines of the declaration and the new generation");
  return {
    detectMs: declared - lostAt,
    recoveryMs: servedAt - declared,
    phases: {
      "declared → generation opened": opened - declared,
      ...restorePhases(log.records, opened, servedAt),
      "after serving: old instances' terminations completed (off the clock)": convergedAt - servedAt,
    },
  };
}

/** Why the cluster does not serve again yet, or undefined once it does. */
async function notServing(
  sim: Simulator,
  lost: readonly string[],
  before: string,
  probe: HealthProbe,
): Promise<string | undefined> {
  const serving = sim.instances("InService").filter((i) => !lost.includes(i.id));
  const desired = sim.group.desiredCapacity;
  if (serving.length !== desired) return `${serving.length} new instances InService of ${desired}`;
  const names = new Set(serving.map((i) => i.id));
  const members = await sim.members().catch(() => []);
  if (members.length !== names.size || members.some((m) => m.isLearner || !names.has(m.name)))
    return `members ${members.map((m) => m.name).join(", ") || "unknown"} are not the new instances as voters`;
  const urls = serving.map((i) => sim.node(i.id).clientUrl);
  if (!(await probe.allHealthy(urls))) return "not every member answers /health";
  const tls = await sim.etcdTls();
  if ((await clusterId(urls, tls).catch(() => before)) === before) return "the cluster ID is the old one";
  return undefined;
}

interface LogEntry {
  readonly message: string;
  /** Epoch ms. */
  readonly at: number;
}

/** The JSON log lines of function `role` written at or after `since` (epoch ms), in order. */
function logEntries(sim: Simulator, role: string, since: number): LogEntry[] {
  const text = readFileSync(join(sim.root, "lambda-logs", `${role}.log`), "utf8");
  const entries: LogEntry[] = [];
  for (const line of text.split("\n")) {
    const parsed = parseJsonLine(line);
    if (typeof parsed?.message !== "string" || typeof parsed.timestamp !== "string") continue;
    const at = Date.parse(parsed.timestamp);
    if (at >= since) entries.push({ message: parsed.message, at });
  }
  return entries;
}

/** A JSON object log line, or undefined for anything else (a runtime line, a partial write). */
function parseJsonLine(line: string): { message?: unknown; timestamp?: unknown } | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    return JSON.parse(line) as { message?: unknown; timestamp?: unknown };
  } catch {
    return undefined;
  }
}
