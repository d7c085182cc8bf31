// Which nodes get peer and server certificates, and when a configuration answer carries them. The
// certificates endpoint (renewal) issues to any registered node the cluster has not let go; a
// configuration answer carries them only when it tells the node to run etcd (member or learner), so
// a node told to wait, to stand by or that it is refused gets none. Pure: what the ledger holds and
// what was decided come in.
import type { NodeConfig } from "./node-config";
import type { NodePhase } from "./snapshot";

/** Why a node in `phase` gets no certificates, or undefined when it may get them. */
export function certificateRefusal(instanceId: string, phase: NodePhase): string | undefined {
  if (phase === "removed" || phase === "not-a-member") {
    return `instance ${instanceId} is not a member (${phase}): it gets no certificates`;
  }
  return undefined;
}

/** A configuration answer carries the node's certificates when it starts etcd and the node may get them. */
export function configCarriesCertificates(config: NodeConfig, instanceId: string, phase: NodePhase): boolean {
  return config.etcd !== undefined && certificateRefusal(instanceId, phase) === undefined;
}
