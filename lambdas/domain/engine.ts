// The membership engine: one pure function from a snapshot to one decision. Everything an operator
// relies on — quorum, one change at a time, one learner, stale and dead members — is decided here.
import type { Decision } from "./decision";
import { decideLaunch } from "./launch";
import { decideReady } from "./ready";
import { decideReconcile } from "./reconcile";
import type { Snapshot } from "./snapshot";
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
