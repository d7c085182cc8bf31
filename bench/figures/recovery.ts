// Figure: recovery after a quorum lost for good (issue 15). Every instance of a 3-node cluster is
// destroyed for good, right after a snapshot: etcd-asg on the simulator comes back by itself (new
// instances launched by the group, a reconcile pass declares the loss, opens generation g+1, the
// nodes restore through the node API's presigned URL), against an operator's manual restore of the
// same kind of snapshot on 3 fresh nodes (bench/floor/restore.ts). The time to detect the loss (the
// threshold, then the wait for the next reconcile pass) has no counterpart on the floor, whose
// operator is told at once: it is shown apart, and the ratio compares what follows it.
import { Simulator } from "../../local/simulator/simulator";
import { EtcdBed } from "../floor/etcd-bed";
import { type FloorCluster, staticBootstrap } from "../floor/flows";
import { FloorBucket, manualRestore } from "../floor/restore";
import { median } from "../measure";
import { type Figure, ratioCheck, row } from "../report";
import { stopSimulator, waitConverged } from "../sim-flows";
import { simLoseAll, type TimedRecovery } from "../sim-recovery";
import type { FigureContext } from "./context";

/** Short of the stack's 300 s so that a rep takes seconds; it is all in the detection row. */
const LOSS_THRESHOLD_SECONDS = 10;
const KEYS_PER_REP = 20;

export async function recoveryFigure(ctx: FigureContext): Promise<Figure> {
  let bed: EtcdBed | undefined;
  let bucket: FloorBucket | undefined;
  let sim: Simulator | undefined;
  let failure: unknown;
  try {
    bed = await EtcdBed.create();
    bucket = await FloorBucket.start();
    let { cluster } = await staticBootstrap(bed, 3);
    sim = await Simulator.start({ size: 3, maxSize: 5, quorumLossThresholdSeconds: LOSS_THRESHOLD_SECONDS });
    await waitConverged(sim, "the initial cluster");
    const floor: number[] = [];
    const timed: TimedRecovery[] = [];
    for (let rep = 1; rep <= ctx.reps; rep++) {
      const restored = await floorRestore(bed, bucket, cluster, rep);
      floor.push(restored.ms);
      cluster = restored.cluster;
      timed.push(await simLoseAll(sim, rep));
      ctx.progress(
        `recovery rep ${rep}: floor ${Math.round(restored.ms)} ms, etcd-asg detect ${Math.round(timed.at(-1)?.detectMs ?? 0)} ms + recover ${Math.round(timed.at(-1)?.recoveryMs ?? 0)} ms`,
      );
    }
    const floorRow = row(
      "manual download, check, etcdctl snapshot restore, start on 3 fresh nodes (floor)",
      "ms",
      floor,
    );
    const detectRow = row(
      `etcd-asg: loss → declared lost for good (${LOSS_THRESHOLD_SECONDS} s threshold, then the next pass)`,
      "ms",
      timed.map((t) => t.detectMs),
    );
    const recoverRow = row(
      "etcd-asg: declared → serving again: every member new, a healthy voter, new cluster ID (simulator)",
      "ms",
      timed.map((t) => t.recoveryMs),
      describePhases(timed),
    );
    const inServiceRow = row(
      "etcd-asg: declared → the new instances InService too (shown apart)",
      "ms",
      timed.map((t) => t.inServiceMs),
    );
    const totalRow = row(
      "etcd-asg: loss → serving again",
      "ms",
      timed.map((t) => t.detectMs + t.recoveryMs),
    );
    return {
      id: "recovery",
      title: "8. Recovery after losing all 3 instances for good (quorum lost → serving again)",
      rows: [floorRow, detectRow, recoverRow, inServiceRow, totalRow],
      notes: [
        "the group launches the replacements while the loss is being detected (the health check marks the destroyed instances after 3 s); on AWS their boot fits in the 300 s threshold the same way",
        "serving again ends where the floor's does (every member answers /health, here also as a voter of the new generation); the group's InService, which the ready reports' CompleteLifecycleAction brings, follows it and is shown apart",
        `detection is the threshold (QUORUM_LOSS_THRESHOLD_SECONDS, ${LOSS_THRESHOLD_SECONDS} s here, 300 s by default) plus the wait for the next reconcile pass (5 s period here, 1 min on AWS); the floor's operator is told of the loss at once`,
      ],
      checks: [ratioCheck("etcd-asg (declared → serving) / floor", recoverRow, floorRow, 1.5)],
    };
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    await stopSimulator(sim, failure);
    await bucket?.stop();
    await bed?.stop();
  }
}

/** Untimed: writes, a snapshot into S3, the whole cluster lost; then the timed manual restore on 3
 * fresh members, which become the next rep's cluster. */
async function floorRestore(
  bed: EtcdBed,
  bucket: FloorBucket,
  cluster: FloorCluster,
  rep: number,
): Promise<{ ms: number; cluster: FloorCluster }> {
  const client = bed.client(cluster.members);
  try {
    for (let i = 0; i < KEYS_PER_REP; i++) await client.put(`bench/recovery-${rep}/${i}`).value(`v${i}`);
  } finally {
    client.close();
  }
  const snapshot = await bucket.snapshot(bed, cluster);
  await bed.killAll(cluster.members);
  const fresh = [await bed.reserve(), await bed.reserve(), await bed.reserve()];
  return manualRestore(bed, snapshot, fresh);
}

/** "declared → generation opened 12 ms; …": the median of each phase over the reps. */
function describePhases(runs: readonly TimedRecovery[]): string {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.phases)))];
  const parts = names.map((name) => {
    const values = runs.map((r) => r.phases[name]).filter((v): v is number => v !== undefined);
    return `${name} ${Math.round(median(values))} ms`;
  });
  return `median critical path from the declaration (the last node to be ready): ${parts.join("; ")}`;
}
