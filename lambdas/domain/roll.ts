// Rolling replacements, pure: how a launch tells a roll apart (the instance was launched from another
// launch template version than a voter's), the surge rule that lets a roll's replacement join as one
// voter more than the configured size while its predecessor still serves, and the gate that applies
// etcd's version rules (etcd-version.ts) before a node joins a running cluster.
//
// Why a surge: a roll launches each replacement before terminating its predecessor. Without it the
// replacement of a full, healthy cluster would be told `not-a-member`, go in service, and its
// predecessor's termination would remove a voter before the replacement is one: the cluster would
// run on N - 1 voters during every step. With it the replacement joins as learner N + 1, is promoted
// once in sync, and the predecessor's termination takes the cluster back to N. Every other rule still
// holds: one learner at a time, never add while started voters would be fewer than the quorum of
// N + 1 (for an even N + 1 that quorum is N/2 + 1, one more than N's when N is odd), no add while a
// voter is silent, and at most N + 1 voters.
import type { Decision } from "./decision";
import {
  type ClusterVersionUpdate,
  clusterVersionAfter,
  decideJoinVersion,
  type EtcdVersion,
  type MemberVersion,
  parseClusterVersion,
  parseEtcdVersion,
} from "./etcd-version";
import type { Instance, LaunchTemplateRef, Member } from "./snapshot";
import { type ClusterView, describeMember } from "./view";

function sameLaunchTemplate(a: LaunchTemplateRef | undefined, b: LaunchTemplateRef | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.id === b.id && a.version === b.version;
}

function describeLaunchTemplate(ref: LaunchTemplateRef | undefined): string {
  return ref === undefined ? "no launch template" : `launch template ${ref.id} version ${ref.version}`;
}

/** The live instance a member runs on, when it has one. */
function instanceOf(view: ClusterView, member: Member): Instance | undefined {
  const owner = view.ownerOf(member);
  return owner === undefined ? undefined : view.liveInstance(owner);
}

/** Voters whose live instance was launched from another launch template version than `instance`'s:
 * what a roll to (or back from) that version replaces. */
function votersOnOtherVersion(view: ClusterView, instance: Instance): Member[] {
  return view.voters.filter((m) => {
    const own = instanceOf(view, m);
    return own !== undefined && !sameLaunchTemplate(own.launchTemplate, instance.launchTemplate);
  });
}

/**
 * Why `instance` may join a full cluster as one voter more than the configured size (a roll's
 * replacement), or undefined when it may not: the cluster holds exactly the configured number of
 * voters and at least one of them runs on an instance of another launch template version.
 */
export function surgeReason(view: ClusterView, instance: Instance): string | undefined {
  const { clusterSize } = view.snapshot.policy;
  if (view.voters.length !== clusterSize) return undefined;
  const replaced = votersOnOtherVersion(view, instance);
  const first = replaced[0];
  if (first === undefined) return undefined;
  return (
    `a roll is under way: ${instance.id} was launched from ${describeLaunchTemplate(instance.launchTemplate)}, ` +
    `${replaced.length} voter(s) from another (${describeMember(first)} first); it joins as voter ` +
    `${clusterSize + 1} of ${clusterSize} until a predecessor's member is removed`
  );
}

/** What the gate says: the node may go on (with why), or the decision that stops it. */
export type VersionGate =
  | { readonly passed: true; readonly reason: string }
  | { readonly passed: false; readonly decision: Decision };

/**
 * etcd's version rules at a launch into a running cluster. The version a node runs is known once it
 * reports it (the boot script's configuration request); until then an instance launched from the
 * same launch template version as a started voter runs that voter's release (same user data, same
 * image) and passes, and any other waits for its report. A refusal that passes with time (a member
 * that has not reported yet) waits; the others are final.
 */
export function versionGate(view: ClusterView, instance: Instance): VersionGate {
  const cluster = view.snapshot.ledger.cluster;
  if (cluster === undefined || cluster.state !== "running") {
    return { passed: true, reason: "the cluster is not running yet" };
  }
  const reported = readVersion(view.node(instance.id)?.etcdVersion);
  if (reported === undefined) {
    const twin = view.voters.find(
      (m) => m.started && sameLaunchTemplate(instanceOf(view, m)?.launchTemplate, instance.launchTemplate),
    );
    if (twin !== undefined) {
      return {
        passed: true,
        reason: `same ${describeLaunchTemplate(instance.launchTemplate)} as voter ${describeMember(twin)}, so the same etcd release`,
      };
    }
    return {
      passed: false,
      decision: {
        kind: "wait",
        reason:
          `${instance.id} was launched from ${describeLaunchTemplate(instance.launchTemplate)}, which no started ` +
          "voter runs: it joins once it reports the etcd version it installed",
      },
    };
  }
  const verdict = decideJoinVersion({
    joining: reported,
    recorded: readClusterVersion(cluster.etcdVersion),
    members: memberVersions(view),
    // The control plane turns etcd authentication on as the cluster starts running.
    authEnabled: true,
  });
  if (verdict.allowed) return { passed: true, reason: verdict.reason };
  if (verdict.refusal === "members-unconfirmed") {
    return { passed: false, decision: { kind: "wait", reason: verdict.reason } };
  }
  return {
    passed: false,
    decision: {
      kind: "version-refused",
      refusal: verdict.refusal,
      reason: `${instance.id} is refused: ${verdict.reason}`,
    },
  };
}

/**
 * The cluster version the ledger should record after looking at a running cluster's members (the
 * reconciler writes it when it moves): the lowest member's minor once every member has a version,
 * and only ever upward, as etcd's own. Undefined while the cluster is not running.
 */
export function clusterVersionUpdate(view: ClusterView): ClusterVersionUpdate | undefined {
  const cluster = view.snapshot.ledger.cluster;
  if (cluster === undefined || cluster.state !== "running") return undefined;
  return clusterVersionAfter(readClusterVersion(cluster.etcdVersion), memberVersions(view));
}

/**
 * What each member runs: the version its node reported, else the one its status answer gave. On AWS
 * both are the installed binary's; the node's report comes first because it is what the version
 * rules were checked against when the node joined (and the simulator, with one etcd binary, drives
 * the rules through the reports).
 */
function memberVersions(view: ClusterView): MemberVersion[] {
  return view.snapshot.members.map((m) => {
    const owner = view.ownerOf(m);
    const reported = owner === undefined ? undefined : view.node(owner)?.etcdVersion;
    return { member: owner ?? m.id, version: readVersion(reported) ?? readVersion(m.version) };
  });
}

/** A version as the ledger or etcd gives it, or undefined when there is none or it is unreadable. */
function readVersion(text: string | undefined): EtcdVersion | undefined {
  if (text === undefined) return undefined;
  try {
    return parseEtcdVersion(text);
  } catch {
    return undefined;
  }
}

function readClusterVersion(text: string | undefined): ReturnType<typeof parseClusterVersion> | undefined {
  if (text === undefined) return undefined;
  try {
    return parseClusterVersion(text);
  } catch {
    return undefined;
  }
}
