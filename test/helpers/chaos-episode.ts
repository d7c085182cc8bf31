// Plays one chaos episode on a running simulator as a chaos run plays it (the runner's own episode
// code, with its faults armed, a client writing with quorum and a monitor watching cluster IDs and
// learners), then settles the cluster and asserts that the run's invariants hold. `during` runs
// beside the episode, for a test to look at the fault while it is on. A broken invariant fails with
// the episode's timeline, so that a CI log says what happened.
import assert from "node:assert/strict";
import { type EpisodeContext, type ExpectedTimeout, playEpisode } from "../../chaos/episodes";
import { FaultInjection } from "../../chaos/faults";
import { checkInvariants, type Violation } from "../../chaos/invariants";
import { ClusterMonitor } from "../../chaos/monitor";
import type { Episode } from "../../chaos/schedule";
import { QuorumWriter } from "../../chaos/writer";
import type { Simulator } from "../../local/simulator/simulator";

const CONVERGE_MS = 120_000;

/** A bare episode of `kind` on the `target`-th oldest instance, with no accompanying fault. */
export function bareEpisode(kind: Episode["kind"], target: number, plan: Partial<Episode> = {}): Episode {
  return {
    kind,
    target,
    killToHealthCheckMs: 0,
    refreshOrder: "terminate-first",
    events: { duplicate: 0, delay: 0, drop: 0 },
    aws: { throttling: 0, serverError: 0 },
    ...plan,
  };
}

/** Plays `episode` with the faults of `seed`; resolves to the faults counted once every invariant held. */
export async function playChecked(
  sim: Simulator,
  episode: Episode,
  seed: number,
  during: () => Promise<void> = async () => undefined,
): Promise<FaultInjection> {
  await sim.waitConverged(CONVERGE_MS);
  const faults = new FaultInjection(sim, seed);
  const writer = new QuorumWriter(sim, `episode-${seed}`);
  const monitor = new ClusterMonitor(sim);
  const expectedTimeouts: ExpectedTimeout[] = [];
  const violations: Violation[] = [];
  const startedAt = Date.now();
  const timedOutBefore = sim.timedOutActions().length;
  monitor.start();
  writer.start();
  const ctx: EpisodeContext = { sim, faults, convergeMs: CONVERGE_MS, expectedTimeouts, violations };
  faults.arm(episode, 0);
  try {
    const [played, looked] = await Promise.allSettled([playEpisode(ctx, episode), during()]);
    if (looked.status === "rejected") throw looked.reason;
    if (played.status === "rejected") throw played.reason;
  } finally {
    faults.disarm();
    await writer.stop();
    await monitor.stop();
  }
  await sim.reconcile();
  await sim.waitConverged(CONVERGE_MS);
  const divergence = (await sim.divergence()) ?? undefined;
  const verdict = await checkInvariants({ sim, writer, monitor, expectedTimeouts, divergence, startedAt });
  const broken = [...violations, ...verdict.violations];
  // The episode's timeline says what happened around a broken invariant (a CI log holds nothing else).
  assert.deepEqual(broken, [], broken.length > 0 ? explain(broken, sim, startedAt) : undefined);
  assert.equal(sim.timedOutActions().length, timedOutBefore, "a lifecycle action timed out");
  assert.ok(writer.acknowledged.size > 0, "no write was acknowledged");
  return faults;
}

function explain(broken: readonly unknown[], sim: Simulator, startedAt: number): string {
  const since = startedAt - sim.timeline.startedAt;
  const first = sim.timeline.entries.findIndex((e) => e.atMs >= since);
  const lines = first < 0 ? [] : sim.timeline.render().slice(first);
  return `invariants broken: ${JSON.stringify(broken, null, 1)}\nthe timeline from the episode's start (${(since / 1000).toFixed(1)}s):\n${lines.join("\n")}`;
}
