// Figure 3: a member's etcd is killed with -9 and the member replaced (terminate → the new member a
// healthy voter): etcd-asg on the simulator (the group's health check replaces the instance)
// against the manual floor (member remove, member add --learner, start, member promote).
import type { EtcdBed } from "../floor/etcd-bed";
import { type FloorCluster, manualReplace, staticBootstrap } from "../floor/flows";
import { pickVictim } from "../leader";
import { now } from "../measure";
import { describePhases, type Phases } from "../phases";
import { type Figure, ratioCheck, row } from "../report";
import { settle, simReplaceKilled, startSimulator } from "../sim-flows";
import type { FigureContext } from "./context";
import { withFloorAndSimulator } from "./floor-and-simulator";

export function replaceFigure(ctx: FigureContext): Promise<Figure> {
  return withFloorAndSimulator(
    () => startSimulator(3),
    async (bed, sim) => {
      const { cluster } = await staticBootstrap(bed, 3);
      let lastChange = now();
      const floor: number[] = [];
      const etcdAsg: number[] = [];
      const phases: Phases[] = [];
      for (let rep = 1; rep <= ctx.reps; rep++) {
        await settle(lastChange);
        floor.push(await floorReplace(bed, cluster));
        const timed = await simReplaceKilled(sim);
        etcdAsg.push(timed.ms);
        phases.push(timed.phases);
        lastChange = now();
        ctx.progress(
          `replace rep ${rep}: floor ${Math.round(floor.at(-1) ?? 0)} ms, etcd-asg ${Math.round(etcdAsg.at(-1) ?? 0)} ms`,
        );
      }
      const floorRow = row("manual remove + add learner + start + promote (floor)", "ms", floor);
      const etcdAsgRow = row(
        "etcd-asg: health replacement (simulator)",
        "ms",
        etcdAsg,
        describePhases(phases),
      );
      return {
        id: "replace",
        title: "3. Replace a kill -9'd member (terminate → new member a healthy voter)",
        rows: [floorRow, etcdAsgRow],
        checks: [ratioCheck("etcd-asg / floor", etcdAsgRow, floorRow, 1.5)],
      };
    },
  );
}

/** kill -9 of a floor member, then its manual replacement: ms from the kill to a healthy voter. */
export async function floorReplace(bed: EtcdBed, cluster: FloorCluster): Promise<number> {
  const victim = await pickVictim(cluster.members, bed.operatorTls);
  await bed.kill(victim.name);
  return manualReplace(bed, cluster, victim);
}
