// The timed reps of a join figure (2 and 2b), alike on both sides: the floor's manual join, then its
// member removed again, untimed; then etcd-asg's scale-out by one. A figure that checks more of each
// rep (figure 2b: the snapshot in etcd's logs) does it in the hooks, outside the clocks.
import type { Simulator } from "../../local/simulator/simulator";
import type { Breakdown } from "../critical-path";
import type { BenchMember, EtcdBed } from "../floor/etcd-bed";
import { type FloorCluster, manualJoin, removeMember } from "../floor/flows";
import { now } from "../measure";
import type { Phases } from "../phases";
import { settle, simJoin } from "../sim-flows";
import type { FigureContext } from "./context";

export interface JoinReps {
  readonly floor: number[];
  readonly etcdAsg: number[];
  readonly phases: Phases[];
  readonly breakdowns: Breakdown[];
  /** When the last rep's change ended, for the next settle(). */
  readonly lastChange: number;
}

export interface JoinRepHooks {
  /** After the floor's join, before its member is removed. */
  readonly afterFloor?: (joined: BenchMember, rep: number) => void;
  /** After etcd-asg's join, with the instance it added. */
  readonly afterSim?: (added: string, rep: number) => void;
}

export async function joinReps(
  ctx: FigureContext,
  bed: EtcdBed,
  cluster: FloorCluster,
  sim: Simulator,
  label: string,
  hooks: JoinRepHooks = {},
): Promise<JoinReps> {
  let lastChange = now();
  const floor: number[] = [];
  const etcdAsg: number[] = [];
  const phases: Phases[] = [];
  const breakdowns: Breakdown[] = [];
  for (let rep = 1; rep <= ctx.reps; rep++) {
    await settle(lastChange);
    const joined = await manualJoin(bed, cluster);
    floor.push(joined.ms);
    hooks.afterFloor?.(joined.joined, rep);
    await removeMember(bed, cluster, joined.joined);
    const before = new Set(sim.nodes.keys());
    const timed = await simJoin(sim);
    etcdAsg.push(timed.ms);
    phases.push(timed.phases);
    if (timed.breakdown !== undefined) breakdowns.push(timed.breakdown);
    if (hooks.afterSim !== undefined) {
      const added = [...sim.nodes.keys()].find((id) => !before.has(id));
      if (added === undefined) throw new Error("the simulator's join left no new node behind");
      hooks.afterSim(added, rep);
    }
    lastChange = now();
    ctx.progress(
      `${label} rep ${rep}: floor ${Math.round(joined.ms)} ms, etcd-asg ${Math.round(timed.ms)} ms`,
    );
  }
  return { floor, etcdAsg, phases, breakdowns, lastChange };
}
