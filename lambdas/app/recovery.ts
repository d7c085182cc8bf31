// Recovery after quorum is lost for good, one step per call: observe the current generation's
// members (a status call each, answered without quorum), decide with the recorded sightings whether
// quorum is lost for good, choose the newest data that exists, and carry out the recovery plan —
// copy a newer survivor into S3 (through the snapshot function), replace the instances that ran the
// old generation, open the new generation with one conditional write, or raise the alarm and wait.
// Every step is redone from what the ledger, the group and etcd show on the next call.
import type { LedgerContents } from "../adapters/ledger/ledger";
import {
  type PassObservation,
  quorumLostForGood,
  sightedMembers,
  withObservations,
} from "../domain/quorum-loss";
import { chooseRestoreSource, type RecoveryPlan, recoveryPlan, type Survivor } from "../domain/recovery";
import type { Instance } from "../domain/snapshot";
import { clientUrlOf } from "../domain/urls";
import { isLive } from "../domain/view";
import type { GroupReading } from "./load-snapshot";
import type { DurabilityPort, Runtime } from "./ports";

export interface RecoveryReport {
  readonly plan: RecoveryPlan["kind"];
  readonly reason: string;
  /** The generation the ledger holds after this step. */
  readonly generation: number | undefined;
}

/** Node phases that run the current generation's etcd. */
const RUNS_ETCD = new Set(["bootstrapping", "joining", "member"]);

/** `reading`: the group as the caller has just read it (or is reading it), if it has. */
export async function recoverQuorum(
  rt: Runtime,
  durability: DurabilityPort,
  reading?: GroupReading,
): Promise<RecoveryReport> {
  const [ledger, instances, recorded, latest, request] = await Promise.all([
    rt.ledger.loadState(),
    reading ?? rt.group.instances(),
    durability.sightings(),
    durability.ledger.latestSnapshot(),
    durability.ledger.restoreRequest(),
  ]);
  const cluster = ledger.cluster;
  if (cluster === undefined)
    return { plan: "none", reason: "no cluster has formed yet", generation: undefined };
  const now = rt.now();
  const { observations, survivors } = await observe(rt, ledger, instances);
  const members = withObservations(
    sightedMembers(ledger.nodes, recorded, cluster.openedAt),
    observations,
    now,
  );
  const settings = rt.config.durability;
  const loss = quorumLostForGood({ now, thresholdMs: settings.quorumLossThresholdMs, members, instances });
  const plan = recoveryPlan({
    mode: settings.mode,
    cluster,
    loss,
    source: chooseRestoreSource({ cluster, snapshots: latest === undefined ? [] : [latest], survivors }),
    // A request names the generation the operator saw: it means nothing once that one is over.
    operatorRestore:
      request !== undefined && request.generation === cluster.generation ? request.source : undefined,
    policy: rt.config.policy,
    nodes: ledger.nodes,
    instances,
    now,
    proposedToken: rt.newToken(),
  });
  if (loss.lost) rt.signals.quorumLost(loss.reason);
  const report = (generation = cluster.generation): RecoveryReport => ({
    plan: plan.kind,
    reason: plan.reason,
    generation,
  });
  switch (plan.kind) {
    case "none":
    case "wait":
      return report();
    case "alarm":
      rt.signals.recoveryNeedsOperator(plan.reason);
      return report();
    case "copy-survivor":
      rt.logger.warn("copying a surviving member's data into S3 before recovery", { reason: plan.reason });
      await durability.invokeSnapshot({ trigger: "copy-survivor", ...plan.member }, 0);
      return report();
    case "replace-old-nodes":
      rt.logger.warn("replacing instances of the old generation", { reason: plan.reason });
      for (const instanceId of plan.instances) await rt.group.markUnhealthy(instanceId);
      return report();
    case "open-generation": {
      const opened = await durability.ledger.openGeneration(cluster, plan.cluster);
      rt.logger.warn(opened.won ? "opened a new cluster generation" : "another pass opened the generation", {
        reason: plan.reason,
        generation: opened.cluster.generation,
        token: opened.cluster.token,
      });
      return report(opened.cluster.generation);
    }
  }
}

/** A status call to each live instance whose node runs this generation's etcd. */
async function observe(
  rt: Runtime,
  ledger: LedgerContents,
  instances: readonly Instance[],
): Promise<{ observations: PassObservation[]; survivors: Survivor[] }> {
  const nodes = ledger.nodes.filter(
    (n) => RUNS_ETCD.has(n.phase) && instances.some((i) => i.id === n.instanceId && isLive(i)),
  );
  if (nodes.length === 0) return { observations: [], survivors: [] };
  const urls = nodes.map((n) => clientUrlOf(rt.config.policy, n.privateIp));
  const etcd = rt.etcd(urls);
  try {
    const probes = await etcd.probe(urls);
    return nodes.reduce<{ observations: PassObservation[]; survivors: Survivor[] }>(
      (acc, node, index) => {
        const probe = probes[index];
        if (probe?.answered !== true) return acc;
        const { status } = probe;
        if (node.memberId !== undefined && node.memberId !== status.memberId) return acc;
        acc.observations.push({ instanceId: node.instanceId, leaderKnown: status.leaderId !== "0" });
        acc.survivors.push({
          instanceId: node.instanceId,
          memberId: status.memberId,
          revision: Number(status.revision),
        });
        return acc;
      },
      { observations: [], survivors: [] },
    );
  } finally {
    etcd.close();
  }
}
