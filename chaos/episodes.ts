// Plays one episode of a schedule on a running simulator: drives the group the way AWS would
// (capacity changes, health replacement, instance refresh), kills or freezes etcd, and waits until
// etcd's member list follows. The faults that accompany the episode are armed by the caller.
import { setTimeout as sleep } from "node:timers/promises";
import type { TimedOutAction } from "../local/aws/auto-scaling-group";
import type { EmulatedInstance } from "../local/aws/types";
import type { Simulator } from "../local/simulator/simulator";
import {
  CONTROL_PLANE_FAULT_KINDS,
  type ControlPlaneFaultKind,
  playControlPlaneFault,
} from "./control-plane-episodes";
import { playDiskFull } from "./disk-full-episode";
import type { FaultInjection } from "./faults";
import type { Violation } from "./invariants";
import { playMajorityLost } from "./majority-lost-episode";
import type { NetworkFaults } from "./network/controller";
import { playNetworkFault } from "./network-episode";
import { NETWORK_FAULT_KINDS, type NetworkFaultKind } from "./network-episodes";
import type { Episode } from "./schedule";
import type { QuorumWriter } from "./writer";

export type ExpectedTimeout = Pick<TimedOutAction, "instanceId" | "hookName" | "result">;

export interface EpisodeContext {
  readonly sim: Simulator;
  readonly faults: FaultInjection;
  /** How long the cluster may take to follow each change. */
  readonly convergeMs: number;
  /** Lifecycle actions the episode times out on purpose are added here. */
  readonly expectedTimeouts: ExpectedTimeout[];
  /** The run's network faults, started when its schedule has a network fault episode. */
  readonly network?: NetworkFaults;
  /** Invariants an episode checks around its own fault (network-episode.ts) add their violations here. */
  readonly violations: Violation[];
  /** The run's writer: majority-lost marks the writes its loss puts at risk. */
  readonly writer?: QuorumWriter;
}

export async function playEpisode(ctx: EpisodeContext, episode: Episode): Promise<void> {
  const freezing = episode.freeze ? freezeFor(ctx, episode.freeze) : Promise.resolve();
  try {
    await PLAYERS[episode.kind](ctx, episode);
  } finally {
    await freezing;
  }
  await ctx.sim.waitConverged(ctx.convergeMs);
}

const PLAYERS: Record<Episode["kind"], (ctx: EpisodeContext, episode: Episode) => Promise<void>> = {
  "scale-out-in": async (ctx) => {
    // 7 is the largest size: there the cluster shrinks first and grows back.
    if (ctx.sim.size + 2 > MAX_CLUSTER_SIZE) {
      await scaleIn(ctx, ctx.sim.size - 2);
      await scaleOut(ctx, ctx.sim.size);
      return;
    }
    await scaleOut(ctx);
    await scaleIn(ctx);
  },
  "kill-and-replace": async (ctx, episode) => {
    const { sim, faults } = ctx;
    const victim = target(sim, episode.target);
    sim.timeline.add("fault", `kill -9 etcd on ${victim.id}`);
    if (sim.node(victim.id).killEtcd()) faults.count("kill-9");
    await sleep(episode.killToHealthCheckMs);
    await replaceUnhealthy(ctx, victim);
  },
  freeze: async () => {
    // The freeze itself runs beside the episode (see playEpisode); nothing else happens.
  },
  "health-replacement": async (ctx, episode) => {
    await replaceUnhealthy(ctx, target(ctx.sim, episode.target));
  },
  "instance-refresh": async (ctx, episode) => {
    const { sim, faults } = ctx;
    faults.count("instance-refresh");
    const originals = sim.instances("InService").sort(byLaunchTime);
    for (const instance of originals) {
      // As a refresh does, each step replaces what is still in the group: the control plane may have
      // had the group replace an original meanwhile (chaos seed 14003).
      if (!present(sim, instance.id)) {
        sim.note(`instance refresh (${episode.refreshOrder}): ${instance.id} already replaced`);
        continue;
      }
      sim.note(`instance refresh (${episode.refreshOrder}): replace ${instance.id}`);
      if (episode.refreshOrder === "terminate-first") sim.group.markUnhealthy(instance.id);
      else sim.group.replaceInstance(instance.id);
      await sim.waitFor(`${instance.id} to leave`, () => !present(sim, instance.id), ctx.convergeMs);
      await sim.waitConverged(ctx.convergeMs);
    }
  },
  "terminate-hook-timeout": async (ctx) => {
    // Scale in with the terminate events lost and the reconciler paused: the hooks time out
    // (CONTINUE), the instances go with their members still listed, and the reconciler, resumed,
    // must remove those members.
    const { sim, faults } = ctx;
    // 7 is the largest size: there the lossy scale-in goes from 7 to 5, and the group grows back after.
    const settled = sim.size + 2 > MAX_CLUSTER_SIZE ? sim.size - 2 : sim.size;
    if (settled === sim.size) await scaleOut(ctx);
    // The group's termination policy takes the oldest instances first.
    const leaving = sim
      .instances("InService")
      .sort(byLaunchTime)
      .slice(0, sim.instances().length - settled);
    sim.pauseReconciler(true);
    faults.loseTerminates(true);
    try {
      faults.count("scale-in");
      await sim.setClusterSize(settled);
      for (const instance of leaving) {
        await sim.waitFor(
          `${instance.id}'s terminate hook to time out`,
          () => !present(sim, instance.id),
          ctx.convergeMs,
        );
        faults.count("hook-timeout");
        ctx.expectedTimeouts.push({
          instanceId: instance.id,
          hookName: sim.hookName("terminate"),
          result: "CONTINUE",
        });
      }
    } finally {
      faults.loseTerminates(false);
      sim.pauseReconciler(false);
    }
    if (settled < sim.size) await scaleOut(ctx, sim.size);
    await sim.waitConverged(ctx.convergeMs);
  },
  ...(Object.fromEntries(
    CONTROL_PLANE_FAULT_KINDS.map((kind) => [
      kind,
      (ctx: EpisodeContext, episode: Episode) =>
        playControlPlaneFault(ctx, kind, episode, (c, e) => replaceUnhealthy(c, target(c.sim, e.target))),
    ]),
  ) as Record<ControlPlaneFaultKind, (ctx: EpisodeContext, episode: Episode) => Promise<void>>),
  "disk-full": (ctx, episode) => playDiskFull(ctx, episode, (index) => target(ctx.sim, index)),
  "majority-lost": playMajorityLost,
  ...(Object.fromEntries(
    NETWORK_FAULT_KINDS.map((kind) => [
      kind,
      (ctx: EpisodeContext, episode: Episode) => playNetworkFault(ctx, kind, episode),
    ]),
  ) as Record<NetworkFaultKind, (ctx: EpisodeContext, episode: Episode) => Promise<void>>),
};

/** CLUSTER_SIZE caps the voters and the group's size follows it: growing is a deploy of a larger
 * cluster size, which raises the group's MinSize and MaxSize, and so its desired capacity. */
async function scaleOut(ctx: EpisodeContext, to = ctx.sim.size + 2): Promise<void> {
  const { sim, faults } = ctx;
  faults.count("scale-out");
  await sim.setClusterSize(to);
  await sim.waitConverged(ctx.convergeMs);
}

async function scaleIn(ctx: EpisodeContext, to = ctx.sim.size): Promise<void> {
  const { sim, faults } = ctx;
  faults.count("scale-in");
  await sim.setClusterSize(to);
  await sim.waitConverged(ctx.convergeMs);
}

/** The construct's largest cluster size. */
const MAX_CLUSTER_SIZE = 7;

/** The health check fails: the group terminates the instance and launches a replacement at once. */
async function replaceUnhealthy(ctx: EpisodeContext, victim: EmulatedInstance): Promise<void> {
  const { sim, faults } = ctx;
  sim.timeline.add("fault", `health check: ${victim.id} is Unhealthy`);
  sim.group.markUnhealthy(victim.id);
  faults.count("parallel-terminate-launch");
  await sim.waitFor(`${victim.id} to leave`, () => !present(sim, victim.id), ctx.convergeMs);
}

async function freezeFor(ctx: EpisodeContext, freeze: NonNullable<Episode["freeze"]>): Promise<void> {
  const { sim, faults } = ctx;
  await sleep(freeze.afterMs);
  const victim = target(sim, freeze.target);
  const node = sim.node(victim.id);
  if (!node.freezeEtcd()) return;
  faults.count("freeze");
  sim.timeline.add("fault", `SIGSTOP etcd on ${victim.id} for ${freeze.forMs} ms`);
  await sleep(freeze.forMs);
  node.thawEtcd();
  sim.timeline.add("fault", `SIGCONT etcd on ${victim.id}`);
}

function target(sim: Simulator, index: number): EmulatedInstance {
  const inService = sim.instances("InService").sort(byLaunchTime);
  const instance = inService[index % Math.max(inService.length, 1)];
  if (instance === undefined) throw new Error("no InService instance to act on");
  return instance;
}

function present(sim: Simulator, instanceId: string): boolean {
  return sim.instances().some((i) => i.id === instanceId);
}

function byLaunchTime(a: EmulatedInstance, b: EmulatedInstance): number {
  return a.launchTime - b.launchTime;
}
