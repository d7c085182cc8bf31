// One reconcile pass: repair membership (stale and gone members, expired learners, promotions) one
// change at a time, bring the client name's records in step with the voters, then finish the
// lifecycle work whose events were lost or held — terminations waiting on a removal, launches never
// seen, launches whose completion was lost — replace in-service instances whose member was removed,
// report drift, record etcd's cluster version, replace a voter whose etcd stays down on a live
// instance (health), and run etcd's upkeep. Where the function has the durability port (the stack's
// reconciler), the pass first runs one recovery step (app/recovery.ts): quorum lost for good is met
// by a new generation, pass by pass. Before anything, it keeps every terminating instance's action
// alive (app/keep-terminations-alive.ts).

import type { Instance, Member, Snapshot } from "../domain/snapshot";
import { ClusterView, isLive } from "../domain/view";
import { changeMembership } from "./change-membership";
import { type ClientEndpointOutcome, keepClientEndpoint } from "./client-endpoint";
import { checkMemberHealth, maintainEtcd, type UpkeepOptions } from "./cluster-care";
import { recordClusterVersion } from "./cluster-version";
import { keepTerminationsAlive } from "./keep-terminations-alive";
import { launchNode } from "./launch-node";
import type { GroupReading } from "./load-snapshot";
import type { DurabilityPort, Runtime } from "./ports";
import { type RecoveryReport, recoverQuorum } from "./recovery";
import { terminateNode } from "./terminate-node";

export interface ReconcileReport {
  readonly membership: string;
  readonly terminations: number;
  readonly launches: number;
  readonly completions: number;
  readonly replacements: number;
  readonly drift: number;
  /** What the pass did to the client name's records; undefined when the stack keeps none. */
  readonly clientEndpoint: ClientEndpointOutcome | undefined;
  /** The health pass's verdict, and the instance it set Unhealthy, if any. */
  readonly health: { readonly decision: string; readonly reason: string; readonly replaced?: string };
  /** The upkeep run's last step (idle or hold, with its reason) and the steps it applied. */
  readonly upkeep: { readonly last: string; readonly reason: string; readonly applied: readonly string[] };
  /** The recovery step's plan and reason; undefined without a durability port. A step that failed
   * reports `failed` with the error, and the next pass tries again. */
  readonly recovery: RecoveryReport | { readonly plan: "failed"; readonly reason: string } | undefined;
}

/** `upkeep` defaults to a reconcile-triggered run with one defragmentation's time left. */
export async function reconcile(
  rt: Runtime,
  upkeep?: UpkeepOptions,
  durability?: DurabilityPort,
): Promise<ReconcileReport> {
  const kept = keepTerminationsAlive(rt);
  // The group's reading serves the recovery step and the first snapshot (a DescribeAutoScalingGroups
  // fewer for each), and the ledger is read meanwhile. After a recovery step that did anything (it
  // may replace instances, and take its time) or failed, the snapshot reads the group again. That
  // step comes first, and apart from the repairs below: without quorum they all wait, and a failure
  // of theirs must not keep the cluster from coming back. It starts once the heartbeats are asked.
  const groupRead = kept.group.then((group) => group ?? rt.group.instances());
  const recovery =
    durability === undefined
      ? undefined
      : await kept.group.then(() => recoveryStep(rt, durability, groupRead));
  const firstReading = recovery === undefined || recovery.plan === "none" ? groupRead : undefined;
  let outcome: Awaited<ReturnType<typeof changeMembership>>;
  try {
    outcome = await changeMembership(rt, { event: "reconcile" }, firstReading);
  } finally {
    // The heartbeats went on meanwhile: answered before the terminations below complete actions.
    await kept.answered;
  }
  let terminations = 0;
  let launches = 0;
  let completions = 0;
  let replacements = 0;
  const marked: string[] = [];
  const { snapshot, ledger } = outcome;
  // Before the terminations below, which sync after their own removals: done after them, this pass's
  // older member list would write the removed members back, for a moment.
  const clientEndpoint = await keepClientEndpoint(rt, snapshot.members);
  // The lifecycle work below decides on the pass's reading of the group, as one event's handler
  // does on its own, until the pass itself moves the group (completes a lifecycle action, marks an
  // instance Unhealthy): then each step reads it again. One DescribeAutoScalingGroups per step fewer.
  let reading: readonly Instance[] | undefined = snapshot.instances;
  for (const instance of snapshot.instances) {
    const node = ledger.nodes.find((n) => n.instanceId === instance.id);
    if (instance.lifecycleState === "Terminating:Wait") {
      const result = await terminateNode(rt, instance.id, { reading });
      if (result.status === "completed") reading = undefined;
      terminations += 1;
    } else if (
      instance.lifecycleState === "Pending:Wait" &&
      (node === undefined || node.phase === "registered")
    ) {
      if (instance.privateIp !== undefined) {
        // A node the pass's ledger reading holds is registered already: not again (one read fewer).
        const launched = await launchNode(rt, instance.id, {
          reading,
          registered: node !== undefined,
        });
        // Not a member, or refused: its launch action was completed, which moves the group.
        const completed = launched.config.role === "not-a-member" || launched.config.role === "refused";
        reading = completed ? undefined : launched.outcome.snapshot.instances;
        launches += 1;
      }
    } else if (instance.lifecycleState === "Pending:Wait" && node?.phase === "member") {
      await rt.group.complete({ hookName: rt.config.launchHookName, instanceId: instance.id }, "CONTINUE");
      reading = undefined;
      completions += 1;
    } else if (instance.lifecycleState === "Pending:Wait" && node?.phase === "joining") {
      await rt.group.heartbeat({ hookName: rt.config.launchHookName, instanceId: instance.id });
    } else if (instance.lifecycleState === "InService" && node?.phase === "removed") {
      // Its member was removed (dead under `replace`, or a learner that never started after its
      // launch action was over): its etcd stops for good and the node API no longer answers it.
      rt.logger.warn("replacing an in-service instance whose member was removed", {
        instanceId: instance.id,
      });
      await rt.group.markUnhealthy(instance.id);
      reading = undefined;
      marked.push(instance.id);
      replacements += 1;
    }
  }
  const drift = driftOf(snapshot);
  rt.signals.drift(drift.length);
  if (drift.length > 0) rt.logger.warn("membership drift", { drift });
  await recordClusterVersion(rt, snapshot);
  const health = await checkMemberHealth(rt, snapshot, ledger, marked);
  const upkept = await maintainEtcd(
    rt,
    snapshot,
    ledger,
    upkeep ?? { trigger: "reconcile", deadline: rt.now() + rt.config.defragmentTimeoutMs },
  );
  return {
    membership: outcome.decision.reason,
    terminations,
    launches,
    completions,
    replacements: replacements + (health?.replaced === undefined ? 0 : 1),
    drift: drift.length,
    clientEndpoint,
    health:
      health === undefined
        ? { decision: "nothing", reason: "no cluster or no etcd endpoint yet" }
        : {
            decision: health.decision.kind,
            reason: health.decision.reason,
            ...(health.replaced === undefined ? {} : { replaced: health.replaced }),
          },
    upkeep:
      upkept === undefined
        ? { last: "idle", reason: "no cluster or no etcd endpoint yet", applied: [] }
        : {
            last: upkept.last.step.kind,
            reason: upkept.last.step.reason,
            applied: upkept.applied.map((step) => step.kind),
          },
    recovery,
  };
}

/** One recovery step; its failure (S3, the snapshot function, the ledger) is reported, not thrown:
 * the step is redone from what the next pass sees. */
async function recoveryStep(
  rt: Runtime,
  durability: DurabilityPort,
  reading: GroupReading,
): Promise<ReconcileReport["recovery"]> {
  try {
    return await recoverQuorum(rt, durability, reading);
  } catch (error) {
    rt.logger.error("recovery step failed; the next pass tries again", { error });
    return { plan: "failed", reason: error instanceof Error ? error.message : String(error) };
  }
}

/** Members without a live instance, and in-service instances that should be members but are not. */
export function driftOf(snapshot: Snapshot): string[] {
  if (snapshot.ledger.cluster === undefined || snapshot.members.length === 0) return [];
  const view = new ClusterView(snapshot);
  const orphans = snapshot.members
    .filter((m: Member) => view.isGone(m))
    .map((m) => `member ${m.id} (${m.name || "unstarted"}) has no live instance`);
  const outside = snapshot.instances
    .filter((i) => isLive(i) && i.lifecycleState === "InService")
    .filter((i) => view.memberOf(i.id) === undefined)
    .filter((i) => snapshot.ledger.nodes.find((n) => n.instanceId === i.id)?.phase !== "not-a-member")
    .map((i) => `instance ${i.id} is in service but not a member`);
  return [...orphans, ...outside];
}
