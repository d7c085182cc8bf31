// The membership engine: one pure function from a snapshot to one decision. Everything an operator
// relies on — quorum, one change at a time, one learner, stale and dead members — is decided here.
import type { Decision } from "./decision";
import { decideLaunch } from "./launch";
import { decideReady } from "./ready";
import { decideReconcile } from "./reconcile";
import type { ClusterRecord, Snapshot, Subject } from "./snapshot";
import { decideTerminate } from "./terminate";
import { ClusterView } from "./view";

export function decide(snapshot: Snapshot): Decision {
  const view = new ClusterView(snapshot);
  const { subject } = snapshot;
  switch (subject.event) {
    case "launch":
      return decideLaunch(view, subject.instanceId);
    case "terminate":
      return decideTerminate(view, subject.instanceId);
    case "ready":
      return decideReady(view, subject.instanceId);
    case "reconcile":
      return decideReconcile(view);
  }
}

/**
 * Whether deciding about `subject` needs etcd's member list. A launch while the cluster is absent or
 * still forming is decided from the ledger alone (the initial set is fixed there), so its snapshot
 * skips reading etcd: members that have started but not yet met quorum do not answer, and waiting
 * for them would delay every node of the initial set.
 */
export function readsMembers(subject: Subject, cluster: ClusterRecord | undefined): boolean {
  if (cluster === undefined) return false;
  return !(subject.event === "launch" && cluster.state === "forming");
}
