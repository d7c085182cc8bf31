// One chaos run: a fresh simulator of the schedule's size, the cluster bootstrapped, a client
// writing with quorum and a monitor watching cluster IDs and learners throughout, the episodes
// played with their faults armed, then the faults cleared, the reconciler run and the invariants
// checked. The simulator is stopped whatever happens; its files are kept when the run fails.
import { DEFAULT_OVERRIDES } from "../local/simulator/options";
import { Simulator } from "../local/simulator/simulator";
import { DATA_VOLUME_BYTES } from "./disk-full-episode";
import { type ExpectedTimeout, playEpisode } from "./episodes";
import { type FaultCounts, FaultInjection } from "./faults";
import { checkInvariants, type Violation } from "./invariants";
import { membershipChanges } from "./membership-changes";
import { ClusterMonitor } from "./monitor";
import { NetworkFaults } from "./network/controller";
import { isNetworkFaultKind } from "./network-episodes";
import type { Schedule } from "./schedule";
import { QuorumWriter } from "./writer";

export interface RunOptions {
  /** How long the cluster may take to follow each change. @default 120000 */
  readonly convergeMs?: number;
  /** Simulator progress lines. */
  readonly log?: (line: string) => void;
}

export interface RunResult {
  readonly schedule: Schedule;
  readonly faults: FaultCounts;
  readonly writesAttempted: number;
  readonly writesAcknowledged: number;
  readonly writesVerified: number;
  /** Acknowledged after the last snapshot before a majority was lost for good, and not brought back
   * by recovery (majority-lost): counted, not a violation. */
  readonly writesLostAfterSnapshot: number;
  readonly membershipChanges: Record<string, number>;
  /** Distinct cluster IDs the members reported (1 unless `one-cluster-id` is violated or a majority was lost). */
  readonly clusterIdsSeen: number;
  /** Ledger generations a cluster was seen serving under (1 more per majority lost for good). */
  readonly generationsSeen: number;
  /** The most learners one sample of the member list showed. */
  readonly maxLearners: number;
  readonly violations: readonly Violation[];
  readonly durationMs: number;
  /** Where the failed run's files (etcd, boot and Lambda logs) were kept. */
  readonly keptFiles?: string;
  /** A failed run's membership timeline (steps, faults, instances, members, control-plane answers). */
  readonly timeline?: readonly string[];
}

/** The terminate hook's heartbeat timeout: the simulator's default, the shortest that outlasts the gap
 * between two heartbeats the control plane records on a waiting action (a reconcile period, two lock
 * waits, a pass's work: 75 s), so a hook deliberately left to time out costs as little as it can.
 * At 45 s, a pass held by a lock stranded in a ledger outage left an action to time out (seed 16025). */
const TERMINATE_HEARTBEAT_TIMEOUT_MS = DEFAULT_OVERRIDES.terminateHeartbeatTimeoutMs;

export async function runSchedule(schedule: Schedule, options: RunOptions = {}): Promise<RunResult> {
  const startedAt = Date.now();
  const convergeMs = options.convergeMs ?? 120_000;
  // Network faults need every etcd and Lambda worker tagged before it starts: started with the run
  // when one of its episodes is a network fault, stopped (every rule removed) whatever happens.
  const network = schedule.episodes.some((e) => isNetworkFaultKind(e.kind))
    ? await NetworkFaults.start({ log: options.log })
    : undefined;
  let sim: Simulator;
  try {
    sim = await Simulator.start({
      size: schedule.size,
      maxSize: schedule.size + 3,
      terminateHeartbeatTimeoutMs: TERMINATE_HEARTBEAT_TIMEOUT_MS,
      // A volume of its own under each data dir, for disk-full to fill.
      dataVolumeBytes: schedule.episodes.some((e) => e.kind === "disk-full") ? DATA_VOLUME_BYTES : undefined,
      log: options.log,
      registerIdentity: network === undefined ? undefined : (identity) => network.register(identity),
    });
  } catch (error) {
    await network?.stop();
    throw error;
  }
  try {
    return await play(schedule, sim, network, convergeMs, startedAt);
  } finally {
    await network?.stop();
  }
}

async function play(
  schedule: Schedule,
  sim: Simulator,
  network: NetworkFaults | undefined,
  convergeMs: number,
  startedAt: number,
): Promise<RunResult> {
  const faults = new FaultInjection(sim, schedule.seed);
  const writer = new QuorumWriter(sim, `chaos-${schedule.seed}`);
  const monitor = new ClusterMonitor(sim);
  const expectedTimeouts: ExpectedTimeout[] = [];
  const violations: Violation[] = [];
  let writesVerified = 0;
  let writesLostAfterSnapshot = 0;
  let changes: Record<string, number> = {};
  try {
    let divergence: string | undefined;
    try {
      monitor.start(); // from the first launch: a split bootstrap shows as a second cluster ID
      await sim.waitConverged(convergeMs);
      writer.start();
      for (const [index, episode] of schedule.episodes.entries()) {
        sim.note(`chaos episode ${index + 1}: ${episode.kind}`);
        faults.arm(episode, index);
        try {
          await playEpisode(
            { sim, faults, convergeMs, expectedTimeouts, network, violations, writer },
            episode,
          );
        } finally {
          faults.disarm();
        }
      }
      divergence = await settle(sim, convergeMs);
    } catch (error) {
      // An episode that never converged: the end-state check says why.
      sim.note(`chaos: ${(error as Error).message}`);
      faults.disarm();
      await network?.healAll();
      divergence = (await settle(sim, convergeMs)) ?? `recovered after: ${(error as Error).message}`;
    }
    await writer.stop();
    await monitor.stop();
    await monitor.sample();
    const verdict = await checkInvariants({
      sim,
      writer,
      monitor,
      expectedTimeouts,
      divergence,
      startedAt,
      majoritiesLost: faults.counts["majority-lost"],
    });
    violations.push(...verdict.violations);
    writesVerified = verdict.writesVerified;
    writesLostAfterSnapshot = verdict.writesLostAfterSnapshot;
    changes = membershipChanges(sim.root);
  } finally {
    await writer.stop();
    await monitor.stop();
    await sim.stop(violations.length > 0);
  }
  return {
    schedule,
    faults: faults.counts,
    writesAttempted: writer.attempts,
    writesAcknowledged: writer.acknowledged.size,
    writesVerified,
    writesLostAfterSnapshot,
    membershipChanges: changes,
    clusterIdsSeen: monitor.clusterIds.size,
    generationsSeen: monitor.idsByGeneration.size,
    maxLearners: monitor.maxLearners,
    violations,
    durationMs: Date.now() - startedAt,
    keptFiles: violations.length > 0 ? sim.root : undefined,
    timeline: violations.length > 0 ? sim.timeline.render() : undefined,
  };
}

/** Faults cleared, the reconciler run on demand, then the end state: undefined when converged. */
async function settle(sim: Simulator, convergeMs: number): Promise<string | undefined> {
  sim.pauseReconciler(false);
  for (const node of sim.nodes.values()) node.thawEtcd();
  await sim.reconcile().catch(() => undefined);
  try {
    await sim.waitConverged(convergeMs);
    return undefined;
  } catch {
    return (await sim.divergence()) ?? undefined;
  }
}
