// The majority-lost fault kind (issue 15): a snapshot is taken (the snapshot function, as an operator
// would), the writer goes on a while, then a majority of the voters — the smallest majority, or all of
// them — is destroyed for good: each instance killed at once (kill -9 of every process, its EC2 status
// checks failing), so the group terminates it and its data dir goes with it. No operator acts: the
// control plane must declare the quorum lost for good, open a new generation from the newest data
// that exists, and the group's new instances restore it. The episode ends when a cluster serves a
// linearizable read under a later ledger generation and a new cluster ID, with etcd's members equal
// to the group's instances (bounded: RECOVERY_BOUND_MS). The writes acknowledged up to the last
// snapshot before the loss must survive; those after it are at risk (QuorumWriter.markLoss), and the
// writer's outage from the loss until then is not a lost quorum of the system's making.
import { setTimeout as sleep } from "node:timers/promises";
import type { EmulatedInstance } from "../local/aws/types";
import type { EpisodeContext } from "./episodes";
import { LedgerView } from "./ledger-view";
import { servingId } from "./monitor";
import type { Episode } from "./schedule";

/** Loss declared (the simulator's 20 s threshold), the old instances replaced, the new generation
 * restored and formed: about a minute on an idle machine. */
export const RECOVERY_BOUND_MS = 240_000;

export async function playMajorityLost(ctx: EpisodeContext, episode: Episode): Promise<void> {
  const { sim, faults, writer } = ctx;
  const plan = episode.majorityLost;
  if (plan === undefined) throw new Error("majority-lost episode without a plan");
  if (writer === undefined)
    throw new Error("majority-lost needs the run's writer to mark the writes at risk");
  await sim.waitConverged(ctx.convergeMs);
  const ledger = new LedgerView(sim);
  try {
    const generation = await ledger.generation();
    if (generation === undefined) throw new Error("majority-lost: the ledger holds no cluster generation");
    const tls = await sim.etcdTls();
    const before = await firstServingId(sim.clientUrls(), tls);
    const taken = (await sim.fn("snapshot").invoke({ operation: "snapshot" })) as { key?: string };
    sim.timeline.add("fault", `majority-lost: snapshot ${taken.key ?? "(none)"} taken`);
    await sleep(plan.afterSnapshotMs);
    // The last snapshot before the loss: a scheduled one may have followed the one just taken.
    const snapshot = await ledger.latestSnapshot();
    if (snapshot === undefined || snapshot.generation !== generation) {
      throw new Error(`majority-lost: the ledger records no snapshot of generation ${generation}`);
    }
    const victims = majority(sim.instances("InService").sort(byLaunchTime), episode.target, plan.victims);
    const lostAt = Date.now();
    try {
      await Promise.all(victims.map((instance) => sim.killInstance(instance.id)));
      faults.count("majority-lost");
      const atRisk = writer.markLoss(snapshot.revision);
      sim.timeline.add(
        "fault",
        `majority-lost: ${victims.map((i) => i.id).join(", ")} destroyed for good (generation ${generation}, cluster ID ${before}); ` +
          `last snapshot at revision ${snapshot.revision}; ${atRisk} acknowledged writes after it at risk`,
      );
      await sim.waitFor(
        `a cluster serving under a generation after ${generation} with a new cluster ID`,
        async () => {
          const now = await ledger.generation().catch(() => undefined);
          if (now === undefined || now <= generation) return false;
          const id = await firstServingId(sim.clientUrls(), tls);
          return id !== undefined && id !== before && (await sim.divergence()) === undefined;
        },
        RECOVERY_BOUND_MS,
      );
    } finally {
      writer.excuse({ fromMs: lostAt, toMs: Date.now() });
    }
    sim.timeline.add(
      "fault",
      `majority-lost: serving again under generation ${await ledger.generation()}, cluster ID ${await firstServingId(sim.clientUrls(), tls)}, ${((Date.now() - lostAt) / 1000).toFixed(1)} s after the loss`,
    );
  } finally {
    ledger.close();
  }
}

/** The smallest majority of `voters` (or all of them), starting at `target` and wrapping. */
function majority(
  voters: readonly EmulatedInstance[],
  target: number,
  victims: "majority" | "all",
): EmulatedInstance[] {
  const count = victims === "all" ? voters.length : Math.floor(voters.length / 2) + 1;
  return Array.from({ length: count }, (_, i) => voters[(target + i) % voters.length]).filter(
    (v): v is EmulatedInstance => v !== undefined,
  );
}

/** The cluster ID of the first member that serves a linearizable read. */
async function firstServingId(
  urls: readonly string[],
  tls: Awaited<ReturnType<EpisodeContext["sim"]["etcdTls"]>>,
): Promise<string | undefined> {
  for (const url of urls) {
    const id = await servingId(url, tls);
    if (id !== undefined) return id;
  }
  return undefined;
}

function byLaunchTime(a: EmulatedInstance, b: EmulatedInstance): number {
  return a.launchTime - b.launchTime;
}
