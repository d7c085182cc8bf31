// Figure 4: an instance refresh of a 5-node cluster — every instance terminated and replaced in
// turn, each once the last replacement is a voter (what Auto Scaling does with the default 90 %
// minimum healthy) — against 5 × one replacement measured on the same cluster when it is settled.
import type { Simulator } from "../../local/simulator/simulator";
import { now } from "../measure";
import { describePhases, type Phases } from "../phases";
import { type Figure, ratioCheck, row } from "../report";
import { settle, simReplaceOne, simRollingReplace, startSimulator, stopSimulator } from "../sim-flows";
import type { FigureContext } from "./context";

export async function rollingFigure(ctx: FigureContext): Promise<Figure> {
  let sim: Simulator | undefined;
  let failure: unknown;
  try {
    sim = await startSimulator(5);
    let lastChange = now();
    const single: number[] = [];
    const phases: Phases[] = [];
    for (let rep = 1; rep <= ctx.reps; rep++) {
      await settle(lastChange);
      // Oldest first, as the refresh goes, so the singles include the leader as often as it does.
      const [oldest] = sim.instances();
      if (oldest === undefined) throw new Error("the group has no instance");
      const timed = await simReplaceOne(sim, oldest.id);
      single.push(timed.ms);
      phases.push(timed.phases);
      lastChange = now();
      ctx.progress(`single replacement rep ${rep}: ${Math.round(single.at(-1) ?? 0)} ms`);
    }
    const rolling: number[] = [];
    for (let rep = 1; rep <= ctx.reps; rep++) {
      await settle(lastChange);
      rolling.push(await simRollingReplace(sim));
      lastChange = now();
      ctx.progress(`rolling replacement rep ${rep}: ${Math.round(rolling.at(-1) ?? 0)} ms`);
    }
    const singleRow = row(
      "one replacement, settled cluster (etcd-asg, simulator)",
      "ms",
      single,
      describePhases(phases),
    );
    const rollingRow = row("rolling replacement of all 5 (etcd-asg, simulator)", "ms", rolling);
    return {
      id: "rolling",
      title: "4. Rolling replacement of all 5 members (instance refresh)",
      rows: [singleRow, rollingRow],
      checks: [ratioCheck("rolling / (5 × one replacement)", rollingRow, singleRow.median * 5, 1.1)],
    };
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    await stopSimulator(sim, failure);
  }
}
