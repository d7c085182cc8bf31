// The reconcile decision: one repair at a time, most urgent first — stale members (their peer URL
// now belongs to another instance), members whose instance is gone, learners that never started —
// then promotions of caught-up learners.
import type { Decision } from "./decision";
import { quorumHeld } from "./launch";
import type { Member } from "./snapshot";
import { memberHasIp } from "./urls";
import { type ClusterView, describeMember, isHealthy, isLive } from "./view";

interface Repair {
  readonly member: Member;
  readonly abandon: string | undefined;
  readonly reason: string;
}

export function decideReconcile(view: ClusterView): Decision {
  const { snapshot } = view;
  if (snapshot.ledger.cluster === undefined) return { kind: "settled", reason: "no cluster yet" };
  if (snapshot.members.length === 0) {
    return { kind: "wait", reason: "no etcd member answered; membership cannot be read" };
  }
  const repairs = [...staleMembers(view), ...goneMembers(view), ...expiredLearners(view)];
  const promotable = view.learners.find(isHealthy);
  if (repairs.length === 0 && promotable === undefined) {
    return { kind: "settled", reason: "etcd's members match the group's instances" };
  }
  const lock = view.foreignLock();
  if (lock !== undefined) {
    return { kind: "wait", reason: `membership lock held by ${lock.holder}; one change at a time` };
  }
  const repair = repairs.find((r) => view.removalKeepsQuorum(r.member));
  if (repair !== undefined) {
    return { kind: "remove", member: repair.member, abandon: repair.abandon, reason: repair.reason };
  }
  const first = repairs[0];
  if (first !== undefined) return quorumHeld(view, `removing ${describeMember(first.member)}`);
  if (promotable !== undefined) {
    if (!view.hasQuorum()) return quorumHeld(view, `promoting ${describeMember(promotable)}`);
    return {
      kind: "promote",
      member: promotable,
      reason: `learner ${describeMember(promotable)} is up; promote once in sync`,
    };
  }
  return { kind: "settled", reason: "nothing to repair" };
}

/** Members whose peer URL now belongs to another live instance. */
function staleMembers(view: ClusterView): Repair[] {
  return view.snapshot.members.flatMap((member) => {
    const owner = view.ownerOf(member);
    const holder = view.snapshot.instances.find(
      (i) => isLive(i) && i.privateIp !== undefined && memberHasIp(member, i.privateIp) && i.id !== owner,
    );
    if (holder === undefined || !view.isGone(member)) return [];
    return [
      {
        member,
        abandon: undefined,
        reason: `${describeMember(member)} is stale: its peer URL now belongs to ${holder.id}`,
      },
    ];
  });
}

function goneMembers(view: ClusterView): Repair[] {
  return view.snapshot.members.flatMap((member) => {
    if (!view.isGone(member)) return [];
    const owner = view.ownerOf(member);
    const where =
      owner === undefined ? "belongs to no instance" : `belongs to ${owner}, which has left the group`;
    return [{ member, abandon: undefined, reason: `${describeMember(member)} ${where}` }];
  });
}

/** Learners added for a node that never reported ready in time: removed, and the launch abandoned. */
function expiredLearners(view: ClusterView): Repair[] {
  const { now, policy } = view.snapshot;
  return view.learners.flatMap((member) => {
    if (member.started) return [];
    const owner = view.ownerOf(member);
    const node = owner === undefined ? undefined : view.node(owner);
    if (owner === undefined || node === undefined || node.phase !== "joining") return [];
    const waited = now - node.phaseSince;
    if (waited <= policy.learnerReadyTimeoutMs) return [];
    return [
      {
        member,
        abandon: owner,
        reason: `learner ${describeMember(member)} of ${owner} has not started ${waited} ms after it was added (limit ${policy.learnerReadyTimeoutMs} ms)`,
      },
    ];
  });
}
