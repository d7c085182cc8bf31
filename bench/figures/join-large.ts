// Figure 2b: one node joins a running 3-node cluster holding 1 GiB (--join-data-mib), and catches up
// by snapshot: the same join as figure 2 (etcd-asg scaling out by one against `member add
// --learner`, start, `member promote` by hand), after both clusters were filled alike, untimed, past
// etcd's --snapshot-count (bench/fill.ts). Every rep must show in etcd's logs that the learner was
// sent the database as a snapshot, or the figure fails.
import { etcdClient } from "../../local/simulator/etcd-client";
import type { Simulator } from "../../local/simulator/simulator";
import { describeBreakdown } from "../critical-path";
import { type Filled, fillCluster, SNAPSHOT_COUNT, VALUE_BYTES } from "../fill";
import type { EtcdBed } from "../floor/etcd-bed";
import { type FloorCluster, staticBootstrap } from "../floor/flows";
import { now, since } from "../measure";
import { describePhases } from "../phases";
import { type Figure, ratioCheck, row } from "../report";
import { BOOT_DELAY_MS, bootDelayNote, scaleInToThree, startSimulator } from "../sim-flows";
import { snapshotEvidence, waitCompacted } from "../snapshot-evidence";
import type { FigureContext } from "./context";
import { withFloorAndSimulator } from "./floor-and-simulator";
import { joinReps } from "./join-reps";

export function joinLargeFigure(ctx: FigureContext): Promise<Figure> {
  const mib = ctx.joinDataMib;
  return withFloorAndSimulator(
    () => startSimulator(5, BOOT_DELAY_MS),
    async (bed, sim) => {
      const { cluster } = await staticBootstrap(bed, 3);
      await scaleInToThree(sim);
      const fillNote = await fillBoth(ctx, bed, cluster, sim, mib);
      const evidence: string[] = [];
      const { floor, etcdAsg, phases, breakdowns } = await joinReps(ctx, bed, cluster, sim, "join-1gib", {
        afterFloor: (joined, rep) => {
          const senders = cluster.members.filter((m) => m !== joined).map((m) => bed.logFile(m));
          evidence.push(`floor rep ${rep}: ${snapshotEvidence(bed.logFile(joined), senders)}`);
        },
        afterSim: (added, rep) => {
          evidence.push(`etcd-asg rep ${rep}: ${snapshotEvidence(sim.node(added).etcdLog, simLogs(sim))}`);
        },
      });
      const floorRow = row("manual learner add + start + promote (floor)", "ms", floor);
      const etcdAsgRow = row("etcd-asg: scale out by one (simulator)", "ms", etcdAsg, describePhases(phases));
      return {
        id: "join-1gib",
        title: `2b. Join one node to a running 3-node cluster holding ${mib} MiB, caught up by snapshot (launch → promoted voter)`,
        rows: [floorRow, etcdAsgRow],
        notes: [
          bootDelayNote,
          fillNote,
          ...(breakdowns.length > 0 ? [describeBreakdown(breakdowns)] : []),
          ...evidence,
        ],
        checks: [ratioCheck("etcd-asg / floor", etcdAsgRow, floorRow, 1.1)],
      };
    },
  );
}

function simLogs(sim: Simulator): string[] {
  return sim.instances().map((i) => sim.node(i.id).etcdLog);
}

/** Fills both clusters at once (untimed) and waits until every member compacted its raft log. */
async function fillBoth(
  ctx: FigureContext,
  bed: EtcdBed,
  cluster: FloorCluster,
  sim: Simulator,
  mib: number,
): Promise<string> {
  const started = now();
  ctx.progress(`join-1gib: filling both clusters with ${mib} MiB and past --snapshot-count`);
  const floorClient = bed.client(cluster.members);
  const simClient = etcdClient(sim.clientUrls(), await sim.etcdTls());
  let filled: Filled[];
  try {
    filled = await Promise.all([fillCluster(floorClient, mib), fillCluster(simClient, mib)]);
  } finally {
    floorClient.close();
    simClient.close();
  }
  await waitCompacted([...cluster.members.map((m) => bed.logFile(m)), ...simLogs(sim)]);
  const seconds = (since(started) / 1000).toFixed(0);
  ctx.progress(`join-1gib: filled in ${seconds} s`);
  const [floorFill, simFill] = filled.map(
    (f) => `${f.values} values and ${f.ticks} small writes, raft index ${f.raftIndex}`,
  );
  return (
    `before the clock (untimed, ${seconds} s for both at once): each cluster filled with ${mib} MiB in ` +
    `${VALUE_BYTES / 1024} KiB values, then small writes past etcd's --snapshot-count (${SNAPSHOT_COUNT}, ` +
    `3.4's default on both sides), until every member logged "compacted raft log at" (floor: ${floorFill}; ` +
    `etcd-asg: ${simFill})`
  );
}
