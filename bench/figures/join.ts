// Figure 2: one node joins a running 3-node cluster (launch → promoted voter): etcd-asg scaling the
// group out by one on the simulator, against `member add --learner`, start and `member promote` by
// hand. The simulator's cluster is configured for 5 (so the join has room) and brought to 3 voters
// first; after each rep the new instance is scaled in again, untimed.

import { commandMissing } from "../../chaos/network/system";
import { describeBreakdown } from "../critical-path";
import { staticBootstrap } from "../floor/flows";
import { describePhases } from "../phases";
import { type Figure, ratioCheck, row } from "../report";
import {
  BOOT_DELAY_MS,
  bootDelayNote,
  scaleInToThree,
  settle,
  simJoinSpawns,
  startSimulator,
} from "../sim-flows";
import type { FigureContext } from "./context";
import { withFloorAndSimulator } from "./floor-and-simulator";
import { joinReps } from "./join-reps";

export function joinFigure(ctx: FigureContext): Promise<Figure> {
  return withFloorAndSimulator(
    () => startSimulator(5, BOOT_DELAY_MS),
    async (bed, sim) => {
      const { cluster } = await staticBootstrap(bed, 3);
      await scaleInToThree(sim);
      const { floor, etcdAsg, phases, breakdowns, lastChange } = await joinReps(
        ctx,
        bed,
        cluster,
        sim,
        "join",
      );
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
