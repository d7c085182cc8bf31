// Publishes a node's configuration in its ledger record, where the node API serves it from, and
// moves the record to the phase the configuration implies.
import type { NodeConfig as StoredConfig } from "../adapters/ledger/items";
import { type NodeConfig, nodeConfig } from "../domain/node-config";
import type { NodePhase } from "../domain/snapshot";
import type { ChangeOutcome } from "./change-membership";
import type { Runtime } from "./ports";

export async function publish(rt: Runtime, instanceId: string, outcome: ChangeOutcome): Promise<NodeConfig> {
  const { snapshot, ledger, decision } = outcome;
  const config = nodeConfig(
    snapshot,
    instanceId,
    decision,
    snapshot.members,
    rt.config.dataDir,
    rt.config.storage,
  );
  const node = ledger.nodes.find((n) => n.instanceId === instanceId);
  if (node === undefined) return config;
  const phase = phaseOf(config, outcome, instanceId) ?? node.phase;
  const published = stored(config);
  // Published already, as it is (a re-decision: a long poll's, a reconcile pass's): nothing to write.
  if (phase === node.phase && JSON.stringify(node.config) === JSON.stringify(published)) return config;
  // The record as the decision's ledger state read it: no read before the write (one call fewer).
  await rt.ledger.setNodePhase(instanceId, { phase, config: published }, rt.now(), undefined, node);
  return config;
}

function phaseOf(config: NodeConfig, outcome: ChangeOutcome, instanceId: string): NodePhase | undefined {
  const cluster = outcome.snapshot.ledger.cluster;
  switch (config.role) {
    case "member":
      return cluster?.state === "forming" && cluster.initialMembers.some((m) => m.instanceId === instanceId)
        ? "bootstrapping"
        : "member";
    case "learner":
      return "joining";
    case "not-a-member":
      return "not-a-member";
    case "refused":
      return "refused";
    case "wait":
      return undefined;
  }
}

/** The ledger stores JSON; `etcd` is left out rather than stored as undefined. */
export function stored(config: NodeConfig): StoredConfig {
  return config.etcd === undefined
    ? { role: config.role, reason: config.reason }
    : { role: config.role, reason: config.reason, etcd: { ...config.etcd } };
}
