// A chaos run's schedule, drawn from its seed alone: a few episodes, each one thing the group does
// (scale out and in, kill -9 and health replacement, a frozen etcd, parallel terminate + launch,
// an instance refresh, a terminate hook left to time out) with the faults that accompany it
// (duplicated, delayed or lost lifecycle events, AWS throttling and 5xx, a control-plane function
// crashing between its etcd change and its lifecycle completion, concurrent membership functions
// racing for the ledger). Pure: no clock, no I/O, so the same seed always gives the same schedule.
import { Prng } from "./prng";

export type EpisodeKind =
  | "scale-out-in"
  | "kill-and-replace"
  | "freeze"
  | "health-replacement"
  | "instance-refresh"
  | "terminate-hook-timeout";

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
}

export interface Schedule {
  readonly seed: number;
  readonly size: 3 | 5;
  readonly episodes: readonly Episode[];
}

export interface ScheduleOptions {
  /** The cluster size; drawn from the seed (3 twice as often as 5) when not given. */
  readonly size?: 3 | 5;
  /** Episodes per run; drawn (2–4) when not given. */
  readonly episodes?: number;
}

const KINDS: readonly EpisodeKind[] = [
  "scale-out-in",
  "kill-and-replace",
  "freeze",
  "health-replacement",
  "instance-refresh",
  "terminate-hook-timeout",
];

export function drawSchedule(seed: number, options: ScheduleOptions = {}): Schedule {
  const prng = Prng.derive(seed, "schedule");
  // Drawn even when the options pin them, so that pinning them (as the replay command does)
  // leaves every later draw, and so the episodes, unchanged.
  const drawnSize = prng.chance(2 / 3) ? 3 : 5;
  const drawnCount = prng.int(2, 4);
  const size = options.size ?? drawnSize;
  const count = options.episodes ?? drawnCount;
  const episodes: Episode[] = [];
  for (let i = 0; i < count; i++) episodes.push(drawEpisode(prng));
  return { seed, size, episodes };
}

function drawEpisode(prng: Prng): Episode {
  const kind = prng.pick(KINDS);
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
  return {
    kind,
    target,
    killToHealthCheckMs,
    freeze,
    refreshOrder,
    events,
    aws,
    crashAtCompletion,
    raceAtEvent,
  };
}

/** One line per episode, for the run's header and a failing run's report. */
export function describeSchedule(schedule: Schedule): string[] {
  return schedule.episodes.map((e, i) => {
    const parts = [`${i + 1}. ${e.kind}`];
    if (e.freeze) parts.push(`freeze ${e.freeze.forMs} ms`);
    if (e.kind === "instance-refresh") parts.push(e.refreshOrder);
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
