// A node leaves the group: remove its member unless that would lose quorum. A held removal keeps
// the instance in Terminating:Wait (heartbeat) and raises the quorum-at-risk signal; the reconciler
// tries again on its next pass. A completed termination then takes the member out of the client
// name's records.
import { NodePhaseConflictError } from "../adapters/ledger/errors";
import type { LedgerNode } from "../adapters/ledger/items";
import { ClusterView } from "../domain/view";
import { changeMembership } from "./change-membership";
import { keepClientEndpoint } from "./client-endpoint";
import { UnknownInstanceError } from "./launch-node";
import type { GroupReading } from "./load-snapshot";
import type { Runtime } from "./ports";

export type TerminateResult =
  | { readonly status: "completed"; readonly reason: string }
  | { readonly status: "held"; readonly reason: string };

export interface TerminateOptions {
  /** The terminate action's token (a lifecycle event). */
  readonly token?: string;
  /** The group's instances as the caller has just read them (or is reading them), if it has. */
  readonly reading?: GroupReading;
}

export async function terminateNode(
  rt: Runtime,
  instanceId: string,
  { token, reading }: TerminateOptions = {},
): Promise<TerminateResult> {
  const outcome = await changeMembership(rt, { event: "terminate", instanceId }, reading);
  const { decision, ledger, snapshot } = outcome;
  // An instance neither the group, the ledger nor etcd knows is bad input: nothing is completed.
  const known =
    snapshot.instances.some((i) => i.id === instanceId) ||
    ledger.nodes.some((n) => n.instanceId === instanceId) ||
    new ClusterView(snapshot).memberOf(instanceId) !== undefined;
  if (!known) throw new UnknownInstanceError(instanceId, rt.config.asgName);
  const target = { hookName: rt.config.terminateHookName, instanceId, token };
  if (decision.kind !== "settled") {
    await rt.group.heartbeat(target);
    const view = new ClusterView(outcome.snapshot);
    const member = view.memberOf(instanceId);
    if (member !== undefined && !view.removalKeepsQuorum(member))
      rt.signals.quorumAtRisk(instanceId, decision.reason);
    return { status: "held", reason: decision.reason };
  }
  const node = ledger.nodes.find((n) => n.instanceId === instanceId);
  if (node !== undefined) await forget(rt, node, ledger.cluster === undefined);
  await rt.group.complete(target, "CONTINUE");
  // Never throws: a Route 53 failure is the next reconcile pass's to repair.
  await keepClientEndpoint(rt, snapshot.members);
  // Report the removal this invocation made, not the settled re-check that followed it.
  const removal = outcome.changes.at(-1);
  return { status: "completed", reason: removal?.reason ?? decision.reason };
}

/** Before the cluster exists a registration is deleted (the next registrant takes its place). */
async function forget(rt: Runtime, node: LedgerNode, beforeCluster: boolean): Promise<void> {
  if (beforeCluster) {
    try {
      await rt.ledger.deleteNode(node.instanceId);
      return;
    } catch (error) {
      if (!(error instanceof NodePhaseConflictError)) throw error;
    }
  }
  // On the record the decision's ledger state read: no read before the write.
  await rt.ledger.setNodePhase(node.instanceId, { phase: "removed" }, rt.now(), undefined, node);
}
