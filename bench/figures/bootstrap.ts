// Figure 1: forming a cluster of 3 and of 5 from instances already running, until every member is
// a healthy voter — etcd-asg's whole flow on the simulator, against the same etcd started with a
// static --initial-cluster (the floor) and with etcd's own v2 discovery.

import { type Breakdown, describeBreakdown } from "../critical-path";
import type { BootstrapLogs } from "../etcd-logs";
import { EtcdBed } from "../floor/etcd-bed";
import { discoveryBootstrap, staticBootstrap } from "../floor/flows";
import { median } from "../measure";
import { describePhases, type Phases } from "../phases";
import { type Check, type Figure, ratioCheck, row } from "../report";
import { bootDelayNote, simBootstrap } from "../sim-flows";
import type { FigureContext } from "./context";

export async function bootstrapFigure(ctx: FigureContext): Promise<Figure> {
  const bed = await EtcdBed.create();
  try {
    const store = await bed.startDiscoveryStore();
    const rows = [];
    const checks: Check[] = [];
    const notes = [bootDelayNote];
    for (const size of [3, 5]) {
      const floor: number[] = [];
      const discovery: number[] = [];
      const etcdAsg: number[] = [];
      const phases: Phases[] = [];
      const breakdowns: Breakdown[] = [];
      /** Per sample, what the members' etcd logs say. */
      const floorLogs: BootstrapLogs[] = [];
      const etcdAsgLogs: BootstrapLogs[] = [];
      for (let rep = 1; rep <= ctx.reps; rep++) {
        const formed = await staticBootstrap(bed, size);
        floor.push(formed.ms);
        floorLogs.push(formed.etcdLogs);
        await bed.killAll(formed.cluster.members);
        const discovered = await discoveryBootstrap(bed, store, size);
        discovery.push(discovered.ms);
        await bed.killAll(discovered.members);
        const timed = await simBootstrap(size);
        etcdAsg.push(timed.ms);
        if (timed.etcdLogs !== undefined) etcdAsgLogs.push(timed.etcdLogs);
        phases.push(timed.phases);
        if (timed.breakdown !== undefined) breakdowns.push(timed.breakdown);
        ctx.progress(
          `bootstrap ${size} rep ${rep}: floor ${ms(floor)}, discovery ${ms(discovery)}, etcd-asg ${ms(etcdAsg)}`,
        );
      }
      const floorRow = row(`${size} nodes: static --initial-cluster (floor)`, "ms", floor);
      const discoveryRow = row(`${size} nodes: etcd v2 discovery`, "ms", discovery);
      const etcdAsgRow = row(`${size} nodes: etcd-asg (simulator)`, "ms", etcdAsg, describePhases(phases));
      rows.push(floorRow, discoveryRow, etcdAsgRow);
      if (breakdowns.length > 0) notes.push(`${size} nodes: ${describeBreakdown(breakdowns)}`);
      notes.push(`${size} nodes: ${describeEtcdLogs(floorLogs, etcdAsgLogs)}`);
      checks.push(ratioCheck(`${size} nodes: etcd-asg / floor`, etcdAsgRow, floorRow, 1.5));
      const vsDiscovery = ratioCheck(`${size} nodes: etcd-asg / discovery`, etcdAsgRow, discoveryRow, 1);
      checks.push({ ...vsDiscovery, target: "< 1× (faster)", pass: vsDiscovery.value < 1 });
    }
    return {
      id: "bootstrap",
      title: "1. Bootstrap (instances running → all members healthy voters)",
      rows,
      notes,
      checks,
    };
  } finally {
    await bed.stop();
  }
}

/** Per side, etcd's own formation (median) and the samples in which a member waited in etcd's
 * bootstrap check, with how many members did. */
function describeEtcdLogs(floor: readonly BootstrapLogs[], etcdAsg: readonly BootstrapLogs[]): string {
  const formation = (logs: readonly BootstrapLogs[]) => {
    const ms = logs.map((l) => l.formationMs).filter((v): v is number => v !== undefined);
    return ms.length === 0 ? "not logged" : `${Math.round(median(ms))} ms`;
  };
  const waits = (logs: readonly BootstrapLogs[]) =>
    `${logs.filter((l) => l.checkWaits > 0).length} of ${logs.length} samples (${logs.map((l) => l.checkWaits).join(", ")} members)`;
  return `etcd's own formation, from the first member's start to the last one published (its first election included; median): floor ${formation(floor)}, etcd-asg ${formation(etcdAsg)}; samples in which a member's etcd waited in etcd's bootstrap check (isMemberBootstrapped, 0.5 s or more from its start to raft's: a peer bound but silent costs 1 s; discovery skips the check): floor ${waits(floor)}, etcd-asg ${waits(etcdAsg)}`;
}

function ms(samples: readonly number[]): string {
  return `${Math.round(samples.at(-1) ?? 0)} ms`;
}
