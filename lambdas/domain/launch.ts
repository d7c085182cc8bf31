// The launch decision: bootstrap, join as a learner (removing a stale or dead member first when the
// rules say so), or stay out of the cluster, per the join strategy. Into a running cluster a node
// joins only once etcd's version rules let it (roll.ts), and a roll's replacement may join a full,
// healthy cluster as voter N + 1 (the surge rule, roll.ts).
import { decideBootstrap } from "./bootstrap";
import type { Decision } from "./decision";
import { quorum } from "./quorum";
import { surgeReason, versionGate } from "./roll";
import type { Instance, Member } from "./snapshot";
import { memberHasIp } from "./urls";
import { type ClusterView, describeMember, isHealthy, isLive } from "./view";

export function decideLaunch(view: ClusterView, instanceId: string): Decision {
  const { snapshot } = view;
  const instance = view.instance(instanceId);
  if (instance === undefined) {
    return { kind: "wait", reason: `${instanceId} is not listed by the Auto Scaling group yet` };
  }
  if (!isLive(instance)) {
    return {
      kind: "refuse",
      reason: `${instanceId} is ${instance.lifecycleState}; a leaving instance does not join`,
    };
  }
  if (instance.privateIp === undefined) {
    return { kind: "wait", reason: `${instanceId} has no private IP yet` };
  }
  const cluster = snapshot.ledger.cluster;
  if (cluster === undefined) return decideBootstrap(snapshot, instanceId);

  const initial = cluster.initialMembers.some((m) => m.instanceId === instanceId);
  if (cluster.state === "forming") {
    if (initial) {
      return {
        kind: "bootstrap",
        initialMembers: cluster.initialMembers,
        token: cluster.token,
        reason: `${instanceId} is in the initial set of generation ${cluster.generation}`,
      };
    }
    return {
      kind: "wait",
      reason: `generation ${cluster.generation} is still forming; ${instanceId} is considered once it runs`,
    };
  }
  if (snapshot.members.length === 0) {
    return { kind: "wait", reason: "no etcd member answered; membership cannot be read" };
  }
  const own = view.memberOf(instanceId);
  if (own !== undefined) {
    return {
      kind: "settled",
      reason: `${instanceId} is already ${own.isLearner ? "a learner" : "a voter"}: ${describeMember(own)}`,
    };
  }
  const lock = view.foreignLock();
  if (lock !== undefined) {
    return { kind: "wait", reason: `membership lock held by ${lock.holder}; one change at a time` };
  }
  const ip = instance.privateIp;
  const stale = snapshot.members.find((m) => memberHasIp(m, ip));
  if (snapshot.policy.strategy === "prepare") {
    if (stale !== undefined) return removeStale(view, stale, ip);
    return {
      kind: "not-a-member",
      reason: `prepare strategy: no member entry was prepared for ${view.peerUrl(ip)}`,
    };
  }
  const gate = versionGate(view, instance);
  if (!gate.passed) return gate.decision;
  const decided =
    stale !== undefined
      ? joinAfterRemoving(view, instanceId, ip, stale, `peer URL ${view.peerUrl(ip)} was reused`)
      : byStrategy(view, instance, ip);
  // A join says which version rule let the node in.
  return decided.kind === "join" ? { ...decided, reason: `${decided.reason} (${gate.reason})` } : decided;
}

function byStrategy(view: ClusterView, instance: Instance, ip: string): Decision {
  const instanceId = instance.id;
  const { policy } = view.snapshot;
  const full = view.voters.length >= policy.clusterSize;
  const size = `${view.voters.length} voters of ${policy.clusterSize}`;
  const dead = view.deadVoters();
  const firstDead = dead[0];
  switch (policy.strategy) {
    case "prepare":
      return {
        kind: "not-a-member",
        reason: `prepare strategy: no member entry was prepared for ${view.peerUrl(ip)}`,
      };
    case "add": {
      if (!full) return join(view, instanceId, ip, `cluster has room (${size})`);
      const surge = firstDead === undefined ? surgeReason(view, instance) : undefined;
      if (surge !== undefined) return join(view, instanceId, ip, surge);
      return { kind: "not-a-member", reason: `cluster is full (${size}); add never removes members` };
    }
    case "replace": {
      if (!full) return join(view, instanceId, ip, `cluster has room (${size})`);
      if (firstDead === undefined) {
        const surge = surgeReason(view, instance);
        if (surge !== undefined) return join(view, instanceId, ip, surge);
        return { kind: "not-a-member", reason: `cluster is full (${size}) and every member is healthy` };
      }
      return joinAfterRemoving(
        view,
        instanceId,
        ip,
        firstDead,
        `cluster is full (${size}); replacing a dead member`,
      );
    }
    case "prune": {
      if (dead.length > 1) return pruneOne(view, dead);
      if (firstDead !== undefined) {
        return joinAfterRemoving(view, instanceId, ip, firstDead, "prune: removing every dead member");
      }
      if (!full) return join(view, instanceId, ip, `cluster has room (${size})`);
      const surge = surgeReason(view, instance);
      if (surge !== undefined) return join(view, instanceId, ip, surge);
      return { kind: "not-a-member", reason: `cluster is full (${size}) and every member is healthy` };
    }
  }
}

function pruneOne(view: ClusterView, dead: readonly Member[]): Decision {
  const removable = dead.find((m) => view.removalKeepsQuorum(m));
  if (removable === undefined) return quorumHeld(view, "pruning a dead member");
  return {
    kind: "remove",
    member: removable,
    abandon: undefined,
    reason: `prune: ${dead.length} dead member(s); removing ${describeMember(removable)} first, one change at a time`,
  };
}

function join(view: ClusterView, instanceId: string, ip: string, why: string): Decision {
  const learner = view.learners[0];
  if (learner !== undefined) return oneLearner(learner);
  if (!view.additionKeepsQuorum(undefined)) return quorumHeld(view, `adding ${instanceId}`);
  // etcd (strict reconfiguration, its default) adds no member, learner or voter, unless its leader
  // reaches every voter: while one does not answer, the add is refused however often it is tried.
  const silent = view.voters.find((m) => !isHealthy(m));
  if (silent !== undefined) {
    return {
      kind: "not-a-member",
      reason: `${why} but voter ${describeMember(silent)} does not answer, and etcd adds no member while a voter is unreachable; standing by until it answers or is removed`,
    };
  }
  return {
    kind: "join",
    removeFirst: undefined,
    add: { name: instanceId, peerUrl: view.peerUrl(ip) },
    reason: `${why}; ${instanceId} joins as a learner`,
  };
}

function joinAfterRemoving(
  view: ClusterView,
  instanceId: string,
  ip: string,
  first: Member,
  why: string,
): Decision {
  const learner = view.learners.find((m) => m.id !== first.id);
  if (learner !== undefined) return oneLearner(learner);
  if (!view.removalKeepsQuorum(first) || !view.additionKeepsQuorum(first)) {
    return quorumHeld(view, `replacing ${describeMember(first)} with ${instanceId}`);
  }
  return {
    kind: "join",
    removeFirst: first,
    add: { name: instanceId, peerUrl: view.peerUrl(ip) },
    reason: `${why}: ${describeMember(first)} is removed first, then ${instanceId} joins as a learner`,
  };
}

function oneLearner(learner: Member): Decision {
  return {
    kind: "wait",
    reason: `learner ${describeMember(learner)} is still joining; one learner at a time`,
  };
}

/** Under `prepare` nothing is added, but a stale member holding this node's peer URL still goes. */
function removeStale(view: ClusterView, stale: Member, ip: string): Decision {
  if (!view.removalKeepsQuorum(stale)) return quorumHeld(view, `removing stale ${describeMember(stale)}`);
  return {
    kind: "remove",
    member: stale,
    abandon: undefined,
    reason: `${describeMember(stale)} is stale: peer URL ${view.peerUrl(ip)} was reused`,
  };
}

/** Quorum already lost is refused; a change that would risk it waits for the cluster to recover. */
export function quorumHeld(view: ClusterView, change: string): Decision {
  const needed = quorum(view.voters.length);
  const counts = `${view.healthyVoters} of ${view.voters.length} voters healthy, quorum ${needed}, configured size ${view.snapshot.policy.clusterSize}`;
  if (!view.hasQuorum()) {
    return { kind: "refuse", reason: `quorum is lost (${counts}); ${change} needs an operator` };
  }
  return { kind: "wait", reason: `${change} would put quorum at risk (${counts}); held` };
}
