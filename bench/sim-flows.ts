// etcd-asg's side of the time figures, on the local simulator (real bundles, real boot script, real
// etcd per instance): each flow is driven the way Auto Scaling drives it and timed until the group
// and etcd agree again — every instance InService, every one a started voter at its own address,
// every member answering /health.
import { setTimeout as sleep } from "node:timers/promises";
import { runInstanceRefresh } from "../local/simulator/instance-refresh";
import type { SimulatorOptions } from "../local/simulator/options";
import { Simulator } from "../local/simulator/simulator";
import { type Breakdown, breakdown, InvocationLog, lastReady } from "./critical-path";
import { type BootstrapLogs, readBootstrapLogs } from "./etcd-logs";
import { HealthProbe } from "./health-probe";
import { pickVictim } from "./leader";
import { now, pollUntil, since } from "./measure";
import { isUserDataStart, mark, type Phases, phasesSince, userDataStarts } from "./phases";

const CONVERGE_TIMEOUT_MS = 120_000;
/** etcd refuses to add a member until every voter has been connected for 5 s; reps start after it. */
export const SETTLE_MS = 5500;

/**
 * How long a simulated instance boots before its user data starts, in the figures whose clock starts
 * there (bootstrap, join), as the floor's starts when its machines are running. Untimed: AWS sends
 * the launch event at Pending:Wait, so the launch hook works while the instance boots, as it would.
 * EC2 boots take tens of seconds; 2 s is enough for the launch handler here and keeps a run short.
 */
export const BOOT_DELAY_MS = 2000;

export const bootDelayNote =
  `etcd-asg's clock starts when an instance's user data starts, as the floor's starts with its machines running; ` +
  `each instance boots ${BOOT_DELAY_MS} ms first, untimed, while the launch hook runs (AWS sends the launch event at Pending:Wait)`;

/** A simulator whose cluster has converged; `bootDelayMs` and `overrides` as in SimulatorOptions. */
export async function startSimulator(
  size: number,
  bootDelayMs = 0,
  overrides: Pick<
    SimulatorOptions,
    "healthGraceSeconds" | "healthWarmupSeconds" | "reconcileIntervalMs"
  > = {},
): Promise<Simulator> {
  const sim = await Simulator.start({ size, maxSize: size + 2, bootDelayMs, ...overrides });
  try {
    await waitConverged(sim, "the initial cluster");
  } catch (error) {
    await stopSimulator(sim, error);
    throw error;
  }
  return sim;
}

/** A simulator configured for 5 brought to 3 voters (so a join has room): the operator lowers
 * MinSize (the stack sets it to the cluster size) and terminates two instances, untimed. */
export async function scaleInToThree(sim: Simulator): Promise<void> {
  sim.group.update({ minSize: 3 });
  for (const instance of sim.instances().slice(0, 2)) sim.group.terminateInstance(instance.id, true);
  await waitConverged(sim, "scale-in to 3");
}

/** Each simulator's health probe, with the operator's certificate; closed when it stops. */
const probes = new WeakMap<Simulator, HealthProbe>();

async function probeOf(sim: Simulator): Promise<HealthProbe> {
  let probe = probes.get(sim);
  if (probe === undefined) {
    probe = new HealthProbe(await sim.etcdTls());
    probes.set(sim, probe);
  }
  return probe;
}

/** Why the group and etcd do not agree yet, or undefined once they do and every member is healthy. */
export async function divergence(sim: Simulator): Promise<string | undefined> {
  const reason = await sim.divergence();
  if (reason !== undefined) return reason;
  const urls = sim.clientUrls();
  const probe = await probeOf(sim);
  const unhealthy = (
    await Promise.all(urls.map(async (url) => ((await probe.isHealthy(url)) ? [] : [url])))
  ).flat();
  return unhealthy.length > 0 ? `not healthy: ${unhealthy.join(", ")}` : undefined;
}

/** Polls until converged; on timeout the error carries the last reason and where the logs are kept. */
export async function waitConverged(sim: Simulator, what: string): Promise<void> {
  let reason: string | undefined = "not checked yet";
  try {
    await pollUntil(
      `${what}: group and etcd in agreement`,
      async () => {
        reason = await divergence(sim);
        return reason === undefined;
      },
      CONVERGE_TIMEOUT_MS,
    );
  } catch (error) {
    throw new SimulatorStuckError(sim.root, `${(error as Error).message}; last: ${reason}`, { cause: error });
  }
}

/** A simulator flow did not converge: the simulator's files are kept for a look. */
export class SimulatorStuckError extends Error {
  override readonly name = "SimulatorStuckError";
  constructor(
    readonly root: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${message} (logs kept in ${root}: lambda-logs/, instances/<id>/boot.log and etcd.log)`, options);
  }
}

/** Stops the simulator, keeping its files when `error` says it got stuck. */
export function stopSimulator(sim: Simulator | undefined, error: unknown): Promise<void> {
  if (sim === undefined) return Promise.resolve();
  probes.get(sim)?.close();
  return sim.stop(error instanceof SimulatorStuckError);
}

export interface Timed {
  readonly ms: number;
  readonly phases: Phases;
  /** The critical path of the last instance to converge (bootstrap and join). */
  readonly breakdown?: Breakdown;
  /** What the members' etcd logs say (bench/etcd-logs.ts; bootstrap). */
  readonly etcdLogs?: BootstrapLogs;
}

/** A new group of `size` instances, booting for BOOT_DELAY_MS: ms from the first user data's start
 * (the floor's "instances running") to every member a healthy voter. */
export async function simBootstrap(size: number): Promise<Timed> {
  const sim = await Simulator.start({ size, maxSize: size + 2, bootDelayMs: BOOT_DELAY_MS });
  let failure: unknown;
  try {
    // start() returns right after it created the group; the instances launch from the next tick.
    const marked = mark(sim, `bootstrap of ${size}`);
    const log = new InvocationLog(sim);
    await waitConverged(sim, `bootstrap of ${size}`);
    log.stop();
    const logs = sim.instances().map((instance) => sim.node(instance.id).etcdLog);
    return { ...sinceUserDataStart(sim, marked, log), etcdLogs: await readBootstrapLogs(logs) };
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    await stopSimulator(sim, failure);
  }
}

/** Scale out by one on a simulator started with BOOT_DELAY_MS: ms from the new instance's user data
 * start to it InService as a voter. Then the new instance is terminated again (untimed) so the next
 * rep starts from the same cluster. */
export async function simJoin(sim: Simulator): Promise<Timed> {
  let timed: Timed | undefined;
  await joinAndLeave(sim, (marked, log) => {
    timed = sinceUserDataStart(sim, marked, log);
  });
  if (timed === undefined) throw new Error("the join converged without being timed");
  return timed;
}

/**
 * One more join, untimed (strace slows every spawn), with the new instance's user data under
 * strace: "N processes (curl 12, ...)" the instance spawned until it converged, and the function
 * containers forked for it on the way.
 */
export async function simJoinSpawns(sim: Simulator): Promise<string> {
  sim.traceProcesses(1);
  let counted = "";
  await joinAndLeave(sim, (_marked, log, added) => {
    const spawned = sim.node(added).processesSpawned();
    if (spawned === undefined) throw new Error(`${added} ran without its processes traced`);
    const programs = spawned.programs.map(([name, n]) => `${name} ${n}`).join(", ");
    const forks = log.records.filter((r) => r.coldStartMs > 0).length;
    counted = `${spawned.processes} processes on the instance (programs run: ${programs}) and ${forks} function containers forked`;
  });
  return counted;
}

/** Scales out by one, tells `converged` once the new instance converged, then scales it in again. */
async function joinAndLeave(
  sim: Simulator,
  converged: (marked: number, log: InvocationLog, added: string) => void,
): Promise<void> {
  const before = new Set(sim.instances().map((i) => i.id));
  const marked = mark(sim, "join");
  const log = new InvocationLog(sim);
  sim.setDesiredCapacity(sim.group.desiredCapacity + 1);
  await waitConverged(sim, "join");
  log.stop();
  const added = sim.instances().find((i) => !before.has(i.id));
  if (added === undefined) throw new Error("scale-out converged without a new instance");
  converged(marked, log, added.id);
  sim.group.terminateInstance(added.id, true);
  await waitConverged(sim, "scale-in after the join");
}

/** kill -9 of a member's etcd (untimed), then the health check replaces the instance: ms from the
 * replacement's start to the new member a healthy voter. */
export async function simReplaceKilled(sim: Simulator): Promise<Timed> {
  const victim = await pickVictim(members(sim), await sim.etcdTls());
  sim.node(victim.name).killEtcd();
  const marked = mark(sim, "replacement");
  const start = now();
  sim.group.markUnhealthy(victim.name);
  await waitConverged(sim, `replacement of killed ${victim.name}`);
  return { ms: since(start), phases: phasesSince(sim, marked) };
}

/** Terminate one instance (no capacity change, as an instance refresh does): ms until converged. */
export async function simReplaceOne(sim: Simulator, instanceId: string): Promise<Timed> {
  const marked = mark(sim, "replacement");
  const start = now();
  sim.group.terminateInstance(instanceId, false);
  await waitConverged(sim, `replacement of ${instanceId}`);
  return { ms: since(start), phases: phasesSince(sim, marked) };
}

/** An instance refresh through StartInstanceRefresh (MinHealthyPercentage 90, so one instance at a
 * time, terminate first; no warmup, so back to back): ms until it succeeded and everything agrees. */
export async function simRollingReplace(sim: Simulator): Promise<number> {
  const start = now();
  const preferences = { MinHealthyPercentage: 90, InstanceWarmup: 0 };
  const status = await runInstanceRefresh(sim, preferences, CONVERGE_TIMEOUT_MS * sim.instances().length);
  if (status !== "Successful") throw new SimulatorStuckError(sim.root, `instance refresh ended ${status}`);
  await waitConverged(sim, "the instance refresh");
  return since(start);
}

/** From the first user data start after `markIndex` to now (noted as converged), on the timeline's
 * clock, with the phases from that start and the critical path of the last instance to converge. */
function sinceUserDataStart(sim: Simulator, markIndex: number, log: InvocationLog): Timed {
  sim.note("bench: converged");
  const entries = sim.timeline.entries;
  const starts = userDataStarts(entries.slice(markIndex + 1));
  const first = [...starts.values()].sort((a, b) => a - b)[0];
  if (first === undefined) throw new Error("converged without an instance's user data starting");
  const startIndex = entries.findIndex((e, i) => i > markIndex && e.atMs === first && isUserDataStart(e));
  const end = entries.at(-1)?.atMs ?? 0;
  const last = lastReady(log.records, [...starts.keys()]);
  const epoch = sim.timeline.startedAt;
  return {
    ms: end - first,
    phases: phasesSince(sim, startIndex),
    ...(last === undefined
      ? {}
      : { breakdown: breakdown(log.records, last, epoch + (starts.get(last) ?? first), epoch + end) }),
  };
}

/** The group's members oldest first, as pickVictim wants them. */
export function members(sim: Simulator): { name: string; clientUrl: string }[] {
  return sim.instances().map((i) => ({ name: i.id, clientUrl: sim.node(i.id).clientUrl }));
}

/** Waits out the rest of etcd's 5 s connection window since `lastChangeEnded` (a now() value). */
export async function settle(lastChangeEnded: number): Promise<void> {
  const rest = SETTLE_MS - since(lastChangeEnded);
  if (rest > 0) await sleep(rest);
}
