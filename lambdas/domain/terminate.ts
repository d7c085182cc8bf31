// The terminate decision: remove the leaving instance's member, unless that would lose quorum, in
// which case the removal (and the instance's termination) is held.
import type { Decision } from "./decision";
import { quorum } from "./quorum";
import { type ClusterView, describeMember } from "./view";

export function decideTerminate(view: ClusterView, instanceId: string): Decision {
  const { snapshot } = view;
  if (snapshot.ledger.cluster === undefined) {
    return {
      kind: "settled",
      reason: `no cluster yet; ${instanceId} leaves before the initial set is fixed`,
    };
  }
  const member = view.memberOf(instanceId);
  if (member === undefined) {
    if (snapshot.members.length === 0) {
      return { kind: "wait", reason: "no etcd member answered; membership cannot be read" };
    }
    return { kind: "settled", reason: `${instanceId} is not an etcd member; nothing to remove` };
  }
  const lock = view.foreignLock();
  if (lock !== undefined) {
    return { kind: "wait", reason: `membership lock held by ${lock.holder}; one change at a time` };
  }
  if (!view.removalKeepsQuorum(member)) {
    const after = view.afterRemoval(member);
    return {
      kind: "wait",
      reason:
        `removing ${describeMember(member)} would leave ${after.healthy} healthy voter(s); ` +
        `quorum needs ${quorum(after.voters)} and the configured size ${view.snapshot.policy.clusterSize} needs ${view.floor}: termination held`,
    };
  }
  return {
    kind: "remove",
    member,
    abandon: undefined,
    reason: `${instanceId} is terminating; its member ${describeMember(member)} is removed`,
  };
}
