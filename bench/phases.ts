// Where a simulator run spent its time: the moments, after a mark, at which the control plane had
// handled the launch and terminate events, etcd's member list last changed and the last instance
// went InService — read off the simulator's timeline (sampled every 0.5 s, so ±0.5 s).
import type { Simulator } from "../local/simulator/simulator";
import { isDeliveryTo, type TimelineEntry } from "../local/simulator/timeline";
import { median } from "./measure";

const MILESTONES: Record<string, (e: TimelineEntry) => boolean> = {
  "launch handled": (e) => isDeliveryTo(e, "launch", "launch-hook"),
  "terminate handled": (e) => isDeliveryTo(e, "terminate", "terminate-hook"),
  "members changed": (e) => e.kind === "member",
  InService: (e) => e.kind === "instance" && e.text.endsWith("InService"),
};

export type Phases = Record<string, number>;

/** The simulator's "<instance> user data starts" entry. */
export function isUserDataStart(entry: TimelineEntry): boolean {
  return entry.kind === "instance" && entry.text.endsWith(" user data starts");
}

/** Each instance whose user data started among `entries`, with the moment (atMs) it did. */
export function userDataStarts(entries: readonly TimelineEntry[]): Map<string, number> {
  const starts = new Map<string, number>();
  for (const entry of entries)
    if (isUserDataStart(entry)) starts.set(entry.text.split(" ")[0] ?? "", entry.atMs);
  return starts;
}

/** Marks the timeline; pass the mark to phasesSince() once the step has converged. */
export function mark(sim: Simulator, what: string): number {
  sim.note(`bench: ${what} starts`);
  return sim.timeline.entries.length - 1;
}

/** ms from the mark to the last entry of each milestone seen after it. */
export function phasesSince(sim: Simulator, markIndex: number): Phases {
  const entries = sim.timeline.entries;
  const from = entries[markIndex]?.atMs ?? 0;
  const phases: Phases = {};
  for (const [name, matches] of Object.entries(MILESTONES)) {
    const last = entries
      .slice(markIndex + 1)
      .filter(matches)
      .at(-1);
    if (last !== undefined) phases[name] = last.atMs - from;
  }
  return phases;
}

/** "launch handled 2.9 s, members changed 6.1 s, …" with the median over the runs. */
export function describePhases(runs: readonly Phases[]): string {
  const names = Object.keys(MILESTONES).filter((name) => runs.some((r) => r[name] !== undefined));
  const parts = names.map((name) => {
    const values = runs.map((r) => r[name]).filter((v): v is number => v !== undefined);
    return `${name} ${(median(values) / 1000).toFixed(1)} s`;
  });
  return `median moments after the start (timeline, ±0.5 s): ${parts.join(", ")}`;
}
