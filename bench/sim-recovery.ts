// etcd-asg's side of the recovery figure, on the simulator: a snapshot (untimed), then every instance
// destroyed for good at once; timed until the cluster serves again: the group's desired number of
// members, each a new instance and a healthy voter answering /health, under a new cluster ID — the
// floor's end mark. The new instances' InService (their launches completed by the ready reports) is
// timed apart, and so are the old instances' terminations (held in Terminating:Wait, housekeeping).
// When a reconcile pass declared the quorum lost for good (detection: the loss threshold, then the
// wait for the next pass) and when it opened the new generation are read off the reconciler's log
// (the timestamps its JSON logger writes); the steps after it, off the node-API invocations of the
// last node to be ready.
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
  /** That declaration → serving again (every member a new instance, a healthy voter, new cluster ID). */
  readonly recoveryMs: number;
  /** That declaration → the group's new instances InService as well. */
  readonly inServiceMs: number;
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
  let inServiceAt: number;
  try {
    await Promise.all(lost.map((id) => sim.killInstance(id)));
    sim.note(`bench: destroyed ${lost.join(", ")} for good`);
    await pollRecovery(sim, "a cluster of new members serving under a new cluster ID", () =>
      notServing(sim, lost, before, probe),
    );
    servedAt = Date.now();
    sim.note("bench: serving again");
    await pollRecovery(sim, "the new instances InService", () => notInService(sim, lost));
    inServiceAt = Date.now();
    sim.note("bench: new instances InService");
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
    inServiceMs: inServiceAt - declared,
    phases: {
      "declared → generation opened": opened - declared,
      ...restorePhases(log.records, opened, servedAt, inServiceAt),
      "after serving: old instances' terminations completed (off the clock)": convergedAt - servedAt,
    },
  };
}

/** Polls `why` (a reason, or undefined once done) until done; stuck after RECOVERY_TIMEOUT_MS. */
async function pollRecovery(
  sim: Simulator,
  what: string,
  why: () => Promise<string | undefined>,
): Promise<void> {
  let reason: string | undefined;
  try {
    await pollUntil(
      what,
      async () => {
        reason = await why();
        return reason === undefined;
      },
      RECOVERY_TIMEOUT_MS,
    );
  } catch (error) {
    throw new SimulatorStuckError(sim.root, `${(error as Error).message}; last: ${reason}`, { cause: error });
  }
}

/** Why the cluster does not serve again yet, or undefined once it does: the group's desired number
 * of members, all new instances and voters, each answering /health, under a new cluster ID. */
async function notServing(
  sim: Simulator,
  lost: readonly string[],
  before: string,
  probe: HealthProbe,
): Promise<string | undefined> {
  const desired = sim.group.desiredCapacity;
  const fresh = new Set(sim.instances().map((i) => i.id));
  for (const id of lost) fresh.delete(id);
  const members = await sim.members().catch(() => []);
  // A member added but not started yet has no name.
  if (members.length !== desired || members.some((m) => m.isLearner || !fresh.has(m.name)))
    return `members ${members.map((m) => m.name || "(not started)").join(", ") || "unknown"} are not ${desired} new instances as voters`;
  const urls = members.map((m) => sim.node(m.name).clientUrl);
  if (!(await probe.allHealthy(urls))) return "not every member answers /health";
  const tls = await sim.etcdTls();
  if ((await clusterId(urls, tls).catch(() => before)) === before) return "the cluster ID is the old one";
  return undefined;
}

/** Why the group's new instances are not all InService yet, or undefined once they are. */
async function notInService(sim: Simulator, lost: readonly string[]): Promise<string | undefined> {
  const serving = sim.instances("InService").filter((i) => !lost.includes(i.id));
  const desired = sim.group.desiredCapacity;
  return serving.length === desired ? undefined : `${serving.length} new instances InService of ${desired}`;
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
