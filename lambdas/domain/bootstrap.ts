// Forming a new cluster: the first `clusterSize` instances registered in the ledger are the initial
// member set, exactly as etcd's discovery protocol takes "the first N registered members". Every
// observer of the same ledger computes the same set; the ledger's conditional write keeps one.
import type { Decision } from "./decision";
import type { InitialMember, Snapshot } from "./snapshot";
import { peerUrlOf } from "./urls";
import { compareText } from "./view";

/** The initial set the ledger fixes, or would fix now; undefined while fewer than N are registered. */
export function initialSet(snapshot: Snapshot): readonly InitialMember[] | undefined {
  const fixed = snapshot.ledger.cluster?.initialMembers;
  if (fixed !== undefined) return fixed;
  const size = snapshot.policy.clusterSize;
  const registered = snapshot.ledger.nodes
    .filter((n) => n.phase !== "removed")
    .sort((a, b) => a.registration - b.registration || compareText(a.instanceId, b.instanceId));
  if (registered.length < size) return undefined;
  return registered
    .slice(0, size)
    .map((n) => ({ instanceId: n.instanceId, peerUrl: peerUrlOf(snapshot.policy, n.privateIp) }));
}

/** The launch decision while the ledger holds no cluster record. */
export function decideBootstrap(snapshot: Snapshot, instanceId: string): Decision {
  const size = snapshot.policy.clusterSize;
  if (!snapshot.ledger.nodes.some((n) => n.instanceId === instanceId && n.phase !== "removed")) {
    return { kind: "wait", reason: `${instanceId} is not registered in the ledger yet` };
  }
  const initial = initialSet(snapshot);
  if (initial === undefined) {
    const registered = snapshot.ledger.nodes.filter((n) => n.phase !== "removed").length;
    return {
      kind: "wait",
      reason: `${registered} of ${size} instances registered; the initial cluster forms when ${size} have`,
    };
  }
  if (!initial.some((m) => m.instanceId === instanceId)) {
    return {
      kind: "wait",
      reason: `the initial set of ${size} is taken by earlier registrations; ${instanceId} is considered once the cluster runs`,
    };
  }
  return {
    kind: "bootstrap",
    initialMembers: initial,
    token: snapshot.proposedToken,
    reason: `first ${size} registered instances form the initial cluster`,
  };
}
