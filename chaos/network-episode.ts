// Plays a network fault episode: the fault armed for its while, then healed, and the two invariants
// that partitions add checked around it. While the fault is on, the control plane must take no
// instance out of the group and make no membership change: whatever part of the cluster it cannot
// see, the instances are all InService and a quorum is up (no-action-on-partial-view). Once it is
// healed and the cluster has settled, the members and the InService instances must be those of
// before: a partition that healed well within the grace removes no member (no-removal-for-healed-
// partition). The fault is armed only once a reconcile pass has seen every InService instance's
// member answer, so that what the invariants judge is this fault's doing: a silence the control plane
// counts from an earlier episode (an etcd still restarting after disk-full, seed 15841) would run on
// into this one and end its grace early.
import { setTimeout as sleep } from "node:timers/promises";
import type { EpisodeContext } from "./episodes";
import { LedgerView } from "./ledger-view";
import { membershipChanges } from "./membership-changes";
import { armNetworkFault, matchedPackets, type NetworkFaultKind } from "./network-episodes";
import type { Episode } from "./schedule";

export async function playNetworkFault(
  ctx: EpisodeContext,
  kind: NetworkFaultKind,
  episode: Episode,
): Promise<void> {
  const { sim, faults, network } = ctx;
  const plan = episode.network;
  if (plan === undefined) throw new Error(`${kind} episode without a network plan`);
  if (network === undefined) throw new Error(`${kind}: this run started no network faults`);
  await sim.waitConverged(ctx.convergeMs);
  await untilSeenAnswering(ctx);
  const before = await clusterView(ctx);
  const changesBefore = appliedChanges(ctx);
  faults.watchRemovals();
  // A fault that fails to arm stops the watch; the run's abort path heals whatever part of it was armed.
  const ids = await armNetworkFault(network, sim, kind, plan).catch((error: unknown) => {
    faults.takeRemovals();
    throw error;
  });
  sim.timeline.add("fault", `${kind} for ${plan.forMs} ms: ${describeActive(ctx)}`);
  try {
    // A pass while the Lambdas cannot see a node: its view lacks that member.
    if (kind === "partition-control-plane") void sim.reconcile().catch(() => undefined);
    await sleep(plan.forMs);
    const matched = await matchedPackets(network, ids);
    if (matched > 0) faults.count(kind);
    else sim.timeline.add("fault", `${kind} matched no packet: it did nothing and is not counted`);
  } finally {
    for (const id of ids) await network.heal(id);
    sim.timeline.add("fault", `${kind} healed`);
  }
  const removals = faults.takeRemovals();
  const changes = appliedChanges(ctx) - changesBefore;
  if (removals.length > 0 || changes > 0) {
    ctx.violations.push({
      invariant: "no-action-on-partial-view",
      detail: `during ${kind}, the control plane made ${changes} membership changes and called ${removals.join(", ") || "nothing"}`,
    });
  }
  await sim.reconcile().catch(() => undefined);
  await sim.waitConverged(ctx.convergeMs);
  const after = await clusterView(ctx);
  if (after !== before) {
    ctx.violations.push({
      invariant: "no-removal-for-healed-partition",
      detail: `${kind} healed after ${plan.forMs} ms, yet members and InService instances went from ${before} to ${after}`,
    });
  }
}

/** Runs reconcile passes until the ledger holds no silence of an InService instance's member. */
async function untilSeenAnswering({ sim, convergeMs }: EpisodeContext): Promise<void> {
  const ledger = new LedgerView(sim);
  try {
    await sim.waitFor(
      "a reconcile pass to see every InService instance's member answer",
      async () => {
        await sim.reconcile().catch(() => undefined);
        const inService = new Set(sim.instances("InService").map((i) => i.id));
        return [...(await ledger.silences()).keys()].every((id) => !inService.has(id));
      },
      convergeMs,
    );
  } finally {
    ledger.close();
  }
}

/** Member IDs and names, and the InService instances, as one comparable line. */
async function clusterView({ sim }: EpisodeContext): Promise<string> {
  const members = (await sim.members()).map((m) => `${m.name}=${m.id}`).sort();
  const instances = sim
    .instances("InService")
    .map((i) => i.id)
    .sort();
  return `members [${members.join(" ")}], InService [${instances.join(" ")}]`;
}

function appliedChanges({ sim }: EpisodeContext): number {
  return Object.values(membershipChanges(sim.root)).reduce((a, b) => a + b, 0);
}

function describeActive({ network }: EpisodeContext): string {
  return (network?.active() ?? []).map((fault) => fault.description).join("; ");
}
