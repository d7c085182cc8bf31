// Facts derived from a snapshot that every rule asks about: who is a voter, who is healthy, which
// instance a member belongs to, and whether a removal or an addition keeps quorum.
import { quorum } from "./quorum";
import type { Instance, Member, MembershipLock, NodeRecord, Snapshot } from "./snapshot";
import { hostOf, peerUrlOf } from "./urls";

/** Lifecycle states of an instance that is (or is about to be) part of the group. */
const LIVE_STATES = new Set([
  "Pending",
  "Pending:Wait",
  "Pending:Proceed",
  "InService",
  "EnteringStandby",
  "Standby",
]);

/** Member names the control plane manages: EC2 instance IDs. Others are never removed automatically. */
const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

export function isLive(instance: Instance): boolean {
  return LIVE_STATES.has(instance.lifecycleState);
}

export function isManagedName(name: string): boolean {
  return INSTANCE_ID.test(name);
}

export class ClusterView {
  readonly voters: readonly Member[];
  readonly learners: readonly Member[];
  /** Voters that have started and answered a health check. */
  readonly healthyVoters: number;
  /** Healthy voters a removal must leave: quorum of the configured size. */
  readonly floor: number;

  constructor(readonly snapshot: Snapshot) {
    this.voters = snapshot.members.filter((m) => !m.isLearner);
    this.learners = snapshot.members.filter((m) => m.isLearner);
    this.healthyVoters = this.voters.filter(isHealthy).length;
    this.floor = quorum(snapshot.policy.clusterSize);
  }

  instance(instanceId: string): Instance | undefined {
    return this.snapshot.instances.find((i) => i.id === instanceId);
  }

  liveInstance(instanceId: string): Instance | undefined {
    const instance = this.instance(instanceId);
    return instance && isLive(instance) ? instance : undefined;
  }

  node(instanceId: string): NodeRecord | undefined {
    return this.snapshot.ledger.nodes.find((n) => n.instanceId === instanceId);
  }

  peerUrl(privateIp: string): string {
    return peerUrlOf(this.snapshot.policy, privateIp);
  }

  /**
   * The instance a member belongs to. A started member carries its instance ID as its name; an
   * unstarted one (added, not yet started) is claimed by the node record that holds its member ID,
   * or else by the live instance with its IP whose record holds no member ID yet (a handler that
   * stopped between MemberAdd and the ledger write), or else by the initial set.
   */
  ownerOf(member: Member): string | undefined {
    if (member.name !== "") return member.name;
    const claimed = this.snapshot.ledger.nodes.find((n) => n.memberId === member.id);
    if (claimed) return claimed.instanceId;
    const ips = member.peerUrls.map(hostOf);
    const unclaimed = this.snapshot.instances.find(
      (i) =>
        isLive(i) &&
        i.privateIp !== undefined &&
        ips.includes(i.privateIp) &&
        this.node(i.id)?.memberId === undefined,
    );
    if (unclaimed) return unclaimed.id;
    const initial = this.snapshot.ledger.cluster?.initialMembers.find((m) =>
      member.peerUrls.includes(m.peerUrl),
    );
    return initial?.instanceId;
  }

  memberOf(instanceId: string): Member | undefined {
    return this.snapshot.members.find((m) => this.ownerOf(m) === instanceId);
  }

  /** The member's instance has left the group (or it belongs to none). Unmanaged names never are. */
  isGone(member: Member): boolean {
    const owner = this.ownerOf(member);
    if (owner === undefined) return true;
    if (!isManagedName(owner)) return false;
    return this.liveInstance(owner) === undefined;
  }

  /** Gone, or started and not answering. An unstarted member of a live instance is still booting. */
  isDead(member: Member): boolean {
    return this.isGone(member) || (member.started && !member.healthy);
  }

  /** Dead voters, those whose instance is gone first, then by name and ID: every observer picks the same. */
  deadVoters(): Member[] {
    return this.voters
      .filter((m) => this.isDead(m))
      .sort((a, b) => rank(this.isGone(b)) - rank(this.isGone(a)) || byIdentity(a, b));
  }

  /** Healthy voters left after removing `member`, and the quorum that must still hold. */
  afterRemoval(member: Member | undefined): { voters: number; healthy: number } {
    if (member === undefined || member.isLearner) {
      return { voters: this.voters.length, healthy: this.healthyVoters };
    }
    return { voters: this.voters.length - 1, healthy: this.healthyVoters - (isHealthy(member) ? 1 : 0) };
  }

  /** A removal keeps quorum of what is left and of the configured size. */
  removalKeepsQuorum(member: Member): boolean {
    if (!this.hasQuorum()) return false;
    const after = this.afterRemoval(member);
    const needed = quorum(after.voters);
    return after.healthy >= needed && after.healthy >= this.floor;
  }

  /** Started voters (after `removeFirst`) are enough for the quorum the cluster will have with one more voter. */
  additionKeepsQuorum(removeFirst: Member | undefined): boolean {
    if (!this.hasQuorum()) return false;
    const after = this.afterRemoval(removeFirst);
    return after.healthy >= quorum(after.voters + 1);
  }

  /** The cluster has quorum now: without it etcd cannot commit any membership change. */
  hasQuorum(): boolean {
    return this.healthyVoters >= quorum(this.voters.length);
  }

  /** A lock held by another actor that has not expired: nobody else may change membership. */
  foreignLock(): MembershipLock | undefined {
    const lock = this.snapshot.ledger.lock;
    if (lock === undefined || lock.holder === this.snapshot.actor || lock.expiresAt <= this.snapshot.now) {
      return undefined;
    }
    return lock;
  }
}

export function isHealthy(member: Member): boolean {
  return member.started && member.healthy;
}

export function describeMember(member: Member): string {
  return member.name !== ""
    ? `${member.name} (${member.id})`
    : `unstarted member ${member.id} at ${member.peerUrls.join(",")}`;
}

function rank(flag: boolean): number {
  return flag ? 1 : 0;
}

function byIdentity(a: Member, b: Member): number {
  return compareText(a.name, b.name) || compareText(a.id, b.id);
}

/** Code-unit order: the same on every machine, unlike localeCompare. */
export function compareText(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
