// A chaos run's schedule, drawn from its seed alone: a few episodes, each one thing the group does
// (scale out and in, kill -9 and health replacement, a frozen etcd, parallel terminate + launch,
// an instance refresh, a terminate hook left to time out) with the faults that accompany it
// (duplicated, delayed or lost lifecycle events, AWS throttling and 5xx, a control-plane function
// crashing between its etcd change and its lifecycle completion, concurrent membership functions
// racing for the ledger), a network fault (network-episodes.ts), a control-plane fault
// (control-plane-episodes.ts), a full disk (disk-full-episode.ts) or a majority of the voters
// destroyed for good after a snapshot (majority-lost-episode.ts). `faults` limits a schedule to
// the fault kinds named. Pure: no clock, no I/O, so the same seed always gives the same schedule.
import {
  CONTROL_PLANE_FAULT_KINDS,
  type ControlPlaneFaultKind,
  type ControlPlaneFaultPlan,
  isControlPlaneFaultKind,
  SKEWED_FUNCTIONS,
} from "./control-plane-episodes";
import type { FaultKind } from "./faults";
import {
  isNetworkFaultKind,
  NETWORK_FAULT_KINDS,
  type NetworkFaultKind,
  type NetworkFaultPlan,
} from "./network-episodes";
import { Prng } from "./prng";

export type EpisodeKind =
  | "scale-out-in"
  | "kill-and-replace"
  | "freeze"
  | "health-replacement"
  | "instance-refresh"
  | "terminate-hook-timeout"
  | NetworkFaultKind
  | ControlPlaneFaultKind
  | "disk-full"
  | "majority-lost";

export type ClusterSize = 3 | 5 | 7;
export const CLUSTER_SIZES: readonly ClusterSize[] = [3, 5, 7];

export interface EventFaults {
  /** Chance that a lifecycle event is delivered two or three times. */
  readonly duplicate: number;
  /** Chance that it is delayed (0.5–4 s), which reorders it against the events after it. */
  readonly delay: number;
  /** Chance that it is lost (the reconciler must finish its work). */
  readonly drop: number;
}

export interface AwsFaults {
  /** Chance that an Auto Scaling or EC2 call is throttled. */
  readonly throttling: number;
  /** Chance that it fails with a 5xx. */
  readonly serverError: number;
}

export interface Episode {
  readonly kind: EpisodeKind;
  /** Which InService instance (oldest first, modulo their count) the episode acts on. */
  readonly target: number;
  /** kill-and-replace: how long the killed node stays in the group before the health check. */
  readonly killToHealthCheckMs: number;
  /** A node's etcd frozen (SIGSTOP) `afterMs` into the episode for `forMs` (freeze, scale-out-in). */
  readonly freeze?: { readonly target: number; readonly afterMs: number; readonly forMs: number };
  /** instance-refresh: terminate-then-launch (as a refresh does) or launch-before-terminate. */
  readonly refreshOrder: "terminate-first" | "launch-first";
  readonly events: EventFaults;
  readonly aws: AwsFaults;
  /** The n-th CONTINUE completion of the episode (1-based) crashes the function making it. */
  readonly crashAtCompletion?: number;
  /** The n-th lifecycle event of the episode (1-based) races an on-demand reconcile pass. */
  readonly raceAtEvent?: number;
  /** A network fault episode's target, duration, loss and delay. */
  readonly network?: NetworkFaultPlan;
  /** A control-plane fault episode's ledger outage and clock offsets. */
  readonly controlPlane?: ControlPlaneFaultPlan;
  /** disk-full: how long the target's data volume stays full. */
  readonly diskFullMs?: number;
  /** majority-lost: how many voters are destroyed (the smallest majority, or all), starting at the
   * target, and how long after the snapshot (the writer's writes then are at risk). */
  readonly majorityLost?: { readonly victims: "majority" | "all"; readonly afterSnapshotMs: number };
}

export interface Schedule {
  readonly seed: number;
  readonly size: ClusterSize;
  readonly episodes: readonly Episode[];
  /** The fault kinds the schedule was limited to, when it was. */
  readonly faults?: readonly FaultKind[];
}

export interface ScheduleOptions {
  /** The cluster size; drawn from the seed (3 half the time, 5 a third, 7 a sixth) when not given. */
  readonly size?: ClusterSize;
  /** Episodes per run; drawn (2–4) when not given. */
  readonly episodes?: number;
  /** Only these fault kinds: episodes that inject none of them are not drawn, and the faults that
   * accompany an episode (event and AWS faults, crashes, races, freezes) only when named. */
  readonly faults?: readonly FaultKind[];
}

/** The fault kinds each episode kind injects itself (accompanying faults aside). A new episode kind
 * is added here, to `EpisodeKind` and to the players of episodes.ts. */
export const EPISODE_FAULTS: Readonly<Record<EpisodeKind, readonly FaultKind[]>> = {
  "scale-out-in": ["scale-out", "scale-in"],
  "kill-and-replace": ["kill-9", "parallel-terminate-launch"],
  freeze: ["freeze"],
  "health-replacement": ["parallel-terminate-launch"],
  "instance-refresh": ["instance-refresh"],
  "terminate-hook-timeout": ["hook-timeout", "scale-out", "scale-in"],
  ...(Object.fromEntries(NETWORK_FAULT_KINDS.map((kind) => [kind, [kind] as readonly FaultKind[]])) as Record<
    NetworkFaultKind,
    readonly FaultKind[]
  >),
  ...(Object.fromEntries(
    CONTROL_PLANE_FAULT_KINDS.map((kind) => [kind, [kind] as readonly FaultKind[]]),
  ) as Record<ControlPlaneFaultKind, readonly FaultKind[]>),
  "disk-full": ["disk-full"],
  "majority-lost": ["majority-lost"],
};

const KINDS = Object.keys(EPISODE_FAULTS) as EpisodeKind[];

/** The episode kinds a schedule limited to `faults` draws from: those injecting one of them, or, when
 * only accompanying faults are named, the membership episodes (no network, control-plane or disk fault). */
export function episodeKinds(faults: readonly FaultKind[] | undefined): EpisodeKind[] {
  if (faults === undefined) return KINDS;
  const chosen = KINDS.filter((kind) => EPISODE_FAULTS[kind].some((f) => faults.includes(f)));
  return chosen.length > 0 ? chosen : KINDS.filter(isMembershipEpisode);
}

/** An episode of the group's own doings (scaling, replacement, refresh), which the accompanying faults ride on. */
export function isMembershipEpisode(kind: EpisodeKind): boolean {
  return (
    !isNetworkFaultKind(kind) &&
    !isControlPlaneFaultKind(kind) &&
    kind !== "disk-full" &&
    kind !== "majority-lost"
  );
}

export function drawSchedule(seed: number, options: ScheduleOptions = {}): Schedule {
  const prng = Prng.derive(seed, "schedule");
  // Drawn even when the options pin them, so that pinning them (as the replay command does)
  // leaves every later draw, and so the episodes, unchanged.
  const sizeDraw = prng.int(0, 5);
  const drawnSize: ClusterSize = sizeDraw < 3 ? 3 : sizeDraw < 5 ? 5 : 7;
  const drawnCount = prng.int(2, 4);
  const size = options.size ?? drawnSize;
  const count = options.episodes ?? drawnCount;
  const pool = episodeKinds(options.faults);
  const episodes: Episode[] = [];
  for (let i = 0; i < count; i++) episodes.push(limit(drawEpisode(prng, pool), options.faults));
  return options.faults === undefined
    ? { seed, size, episodes }
    : { seed, size, episodes, faults: options.faults };
}

/** Removes the accompanying faults `faults` does not name. */
function limit(episode: Episode, faults: readonly FaultKind[] | undefined): Episode {
  if (faults === undefined) return episode;
  const on = (kind: FaultKind, chance: number) => (faults.includes(kind) ? chance : 0);
  return {
    ...episode,
    freeze: episode.kind === "freeze" || faults.includes("freeze") ? episode.freeze : undefined,
    events: {
      duplicate: on("event-duplicated", episode.events.duplicate),
      delay: on("event-delayed", episode.events.delay),
      drop: on("event-lost", episode.events.drop),
    },
    aws: {
      throttling: on("aws-throttling", episode.aws.throttling),
      serverError: on("aws-5xx", episode.aws.serverError),
    },
    crashAtCompletion: faults.includes("lambda-crash") ? episode.crashAtCompletion : undefined,
    raceAtEvent: faults.includes("ledger-race") ? episode.raceAtEvent : undefined,
  };
}

function drawEpisode(prng: Prng, pool: readonly EpisodeKind[]): Episode {
  const kind = prng.pick(pool);
  const target = prng.int(0, 6);
  const killToHealthCheckMs = prng.int(500, 4000);
  // A freeze only accompanies episodes that keep every voter otherwise up, so that a lost quorum
  // can only come from a membership change the system made.
  const frozen = kind === "freeze" || (kind === "scale-out-in" && prng.chance(0.5));
  const freeze = frozen
    ? { target: prng.int(0, 6), afterMs: prng.int(0, 3000), forMs: prng.int(2000, 10_000) }
    : undefined;
  const refreshOrder = prng.chance(0.5) ? "terminate-first" : "launch-first";
  const events: EventFaults = {
    duplicate: prng.pick([0, 0.2, 0.5]),
    delay: prng.pick([0, 0.2, 0.5]),
    drop: prng.pick([0, 0, 0.2]),
  };
  const aws: AwsFaults = {
    throttling: prng.pick([0, 0.05, 0.15]),
    serverError: prng.pick([0, 0.05, 0.1]),
  };
  const crashAtCompletion = prng.chance(0.4) ? prng.int(1, 2) : undefined;
  const raceAtEvent = prng.chance(0.4) ? prng.int(1, 3) : undefined;
  const network = isNetworkFaultKind(kind)
    ? {
        target: prng.int(0, 6),
        // Well inside any grace the control plane keeps before it replaces a silent member.
        forMs: prng.int(3000, 15_000),
        lossProbability: prng.pick([0.3, 0.7, 1]),
        delayMs: prng.pick([50, 150, 400]),
      }
    : undefined;
  const controlPlane = isControlPlaneFaultKind(kind)
    ? {
        outage: prng.chance(0.5) ? ("unavailable" as const) : ("throttled" as const),
        outageMs: prng.int(5000, 20_000),
        // A few seconds either way, each function its own.
        skewsMs: Object.fromEntries(SKEWED_FUNCTIONS.map((fn) => [fn, prng.int(-5000, 5000)])) as Record<
          (typeof SKEWED_FUNCTIONS)[number],
          number
        >,
      }
    : undefined;
  // Shorter and longer than the health grace: etcd comes back on its own disk, or the instance is replaced.
  const diskFullMs = kind === "disk-full" ? prng.int(5000, 40_000) : undefined;
  const majorityLost =
    kind === "majority-lost"
      ? {
          victims: prng.chance(0.25) ? ("all" as const) : ("majority" as const),
          afterSnapshotMs: prng.int(500, 5000),
        }
      : undefined;
  const episode: Episode = {
    kind,
    target,
    killToHealthCheckMs,
    freeze,
    refreshOrder,
    events,
    aws,
    crashAtCompletion,
    raceAtEvent,
    network,
    controlPlane,
    diskFullMs,
    majorityLost,
  };
  // The loss and the recovery alone: no event, AWS or crash fault rides on them (drawn all the same,
  // so that the draws after stay where they are).
  return majorityLost === undefined
    ? episode
    : {
        ...episode,
        events: { duplicate: 0, delay: 0, drop: 0 },
        aws: { throttling: 0, serverError: 0 },
        crashAtCompletion: undefined,
        raceAtEvent: undefined,
      };
}

/** One line per episode, for the run's header and a failing run's report. */
export function describeSchedule(schedule: Schedule): string[] {
  return schedule.episodes.map((e, i) => {
    const parts = [`${i + 1}. ${e.kind}`];
    if (e.freeze) parts.push(`freeze ${e.freeze.forMs} ms`);
    if (e.kind === "instance-refresh") parts.push(e.refreshOrder);
    if (e.network) parts.push(`for ${e.network.forMs} ms`);
    if (e.network && e.kind === "partition-asymmetric") parts.push(`loss ${e.network.lossProbability}`);
    if (e.network && e.kind === "latency") parts.push(`+${e.network.delayMs} ms`);
    if (e.controlPlane && e.kind === "ledger-outage")
      parts.push(`${e.controlPlane.outage} for ${e.controlPlane.outageMs} ms`);
    if (e.controlPlane && e.kind === "clock-skew")
      parts.push(
        Object.entries(e.controlPlane.skewsMs)
          .map(([fn, ms]) => `${fn} ${ms} ms`)
          .join(" "),
      );
    if (e.diskFullMs) parts.push(`full for ${e.diskFullMs} ms`);
    if (e.majorityLost)
      parts.push(`${e.majorityLost.victims} lost ${e.majorityLost.afterSnapshotMs} ms after a snapshot`);
    const ev = e.events;
    if (ev.duplicate || ev.delay || ev.drop)
      parts.push(`events dup ${ev.duplicate} delay ${ev.delay} drop ${ev.drop}`);
    if (e.aws.throttling || e.aws.serverError)
      parts.push(`aws throttle ${e.aws.throttling} 5xx ${e.aws.serverError}`);
    if (e.crashAtCompletion) parts.push(`crash at completion ${e.crashAtCompletion}`);
    if (e.raceAtEvent) parts.push(`race at event ${e.raceAtEvent}`);
    return parts.join(", ");
  });
}
