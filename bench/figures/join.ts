// Figure 2: one node joins a running 3-node cluster (launch → promoted voter): etcd-asg scaling the
// group out by one on the simulator, against `member add --learner`, start and `member promote` by
// hand. The simulator's cluster is configured for 5 (so the join has room) and brought to 3 voters
// first; after each rep the new instance is scaled in again, untimed.

import { commandMissing } from "../../chaos/network/system";
import { type Breakdown, describeBreakdown } from "../critical-path";
import { manualJoin, removeMember, staticBootstrap } from "../floor/flows";
import { now } from "../measure";
import { describePhases, type Phases } from "../phases";
import { type Figure, ratioCheck, row } from "../report";
import {
  BOOT_DELAY_MS,
  bootDelayNote,
  scaleInToThree,
  settle,
  simJoin,
  simJoinSpawns,
  startSimulator,
} from "../sim-flows";
import type { FigureContext } from "./context";
import { withFloorAndSimulator } from "./floor-and-simulator";

export function joinFigure(ctx: FigureContext): Promise<Figure> {
  return withFloorAndSimulator(
    () => startSimulator(5, BOOT_DELAY_MS),
    async (bed, sim) => {
      const { cluster } = await staticBootstrap(bed, 3);
      await scaleInToThree(sim);
      let lastChange = now();
      const floor: number[] = [];
      const etcdAsg: number[] = [];
      const phases: Phases[] = [];
      const breakdowns: Breakdown[] = [];
      for (let rep = 1; rep <= ctx.reps; rep++) {
        await settle(lastChange);
        const joined = await manualJoin(bed, cluster);
        floor.push(joined.ms);
        await removeMember(bed, cluster, joined.joined);
        const timed = await simJoin(sim);
        etcdAsg.push(timed.ms);
        phases.push(timed.phases);
        if (timed.breakdown !== undefined) breakdowns.push(timed.breakdown);
        lastChange = now();
        ctx.progress(
          `join rep ${rep}: floor ${Math.round(joined.ms)} ms, etcd-asg ${Math.round(etcdAsg.at(-1) ?? 0)} ms`,
        );
      }
      await settle(lastChange);
      // strace is not part of a fresh machine's install: without it the count is skipped, saying so.
      const spawns = commandMissing("strace", ["-V"])
        ? "not counted: strace is not installed (apt-get install strace)"
        : await simJoinSpawns(sim);
      const floorRow = row("manual learner add + start + promote (floor)", "ms", floor);
      const etcdAsgRow = row("etcd-asg: scale out by one (simulator)", "ms", etcdAsg, describePhases(phases));
      return {
        id: "join",
        title: "2. Join one node to a running 3-node cluster (launch → promoted voter)",
        rows: [floorRow, etcdAsgRow],
        notes: [
          bootDelayNote,
          ...(breakdowns.length > 0 ? [describeBreakdown(breakdowns)] : []),
          `spawned per join (one more join, untimed, traced with strace): ${spawns}`,
        ],
        checks: [ratioCheck("etcd-asg / floor", etcdAsgRow, floorRow, 1.5)],
      };
    },
  );
}
