// The ready decision: a node's etcd answers; promote its learner, or confirm a voter.
import type { Decision } from "./decision";
import { quorumHeld } from "./launch";
import { type ClusterView, describeMember, isHealthy } from "./view";

export function decideReady(view: ClusterView, instanceId: string): Decision {
  const { snapshot } = view;
  const member = view.memberOf(instanceId);
  if (member === undefined) {
    if (snapshot.members.length === 0) {
      return { kind: "wait", reason: "no etcd member answered yet" };
    }
    return { kind: "refuse", reason: `${instanceId} is not an etcd member` };
  }
  if (!member.isLearner) {
    return { kind: "settled", reason: `${instanceId} is a voter: ${describeMember(member)}` };
  }
  if (!isHealthy(member)) {
    return { kind: "wait", reason: `learner ${describeMember(member)} has not answered a health check yet` };
  }
  const lock = view.foreignLock();
  if (lock !== undefined) {
    return { kind: "wait", reason: `membership lock held by ${lock.holder}; one change at a time` };
  }
  if (!view.hasQuorum()) return quorumHeld(view, `promoting ${describeMember(member)}`);
  return { kind: "promote", member, reason: `learner ${describeMember(member)} is up; promote once in sync` };
}
