// What the membership engine sees: one consistent picture of the Auto Scaling Group, etcd's member
// list and the ledger, taken by a handler before it decides. Plain data: no clients, no clock.
import type { RestoreSource } from "./durability";

export const JOIN_STRATEGIES = ["prepare", "add", "replace", "prune"] as const;
export type JoinStrategy = (typeof JOIN_STRATEGIES)[number];

export interface Policy {
  /** Voters the cluster is meant to have (3, 5 or 7 unless the allowed sizes are widened). */
  readonly clusterSize: number;
  readonly strategy: JoinStrategy;
  /** Peer URLs are `${peerScheme}://${privateIp}:${peerPort}`. */
  readonly peerScheme: "http" | "https";
  readonly peerPort: number;
  /** Client URLs are `${peerScheme}://${privateIp}:${clientPort}`. */
  readonly clientPort: number;
  /** A learner whose node has not reported ready this long after it was added is removed. */
  readonly learnerReadyTimeoutMs: number;
}

/** The launch template version an instance was launched from (DescribeAutoScalingGroups' LaunchTemplate). */
export interface LaunchTemplateRef {
  readonly id: string;
  /** The version number, as text ("3"). */
  readonly version: string;
}

/** An instance of the Auto Scaling Group as DescribeAutoScalingGroups and DescribeInstances show it. */
export interface Instance {
  readonly id: string;
  /** The Auto Scaling lifecycle state, e.g. `Pending:Wait`, `InService`, `Terminating:Wait`. */
  readonly lifecycleState: string;
  /** Undefined until EC2 has assigned one. */
  readonly privateIp: string | undefined;
  /** Epoch milliseconds. */
  readonly launchTime: number;
  /** The launch template version it was launched from; undefined when the group names none. Two
   * instances of one version run the same user data, so the same etcd release and image. */
  readonly launchTemplate?: LaunchTemplateRef | undefined;
  /** The group's health verdict (DescribeAutoScalingGroups' HealthStatus); undefined when not read. */
  readonly healthStatus?: "Healthy" | "Unhealthy" | undefined;
}

/** An etcd member as MemberList and the per-endpoint health checks show it. */
export interface Member {
  /** etcd's member ID as a decimal string (etcd3 returns IDs that way). */
  readonly id: string;
  /** Empty until the member has started; then the instance ID it was started with. */
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
  /** The member has started at least once (etcd reports a name and client URLs). */
  readonly started: boolean;
  /** Its client URL answered a status request in this snapshot. */
  readonly healthy: boolean;
  /** Its status answer in this snapshot named itself etcd's leader. */
  readonly leader?: boolean | undefined;
  /** The etcd version its status answer gave ("3.5.21"); undefined when it did not answer. */
  readonly version?: string | undefined;
}

export interface InitialMember {
  readonly instanceId: string;
  readonly peerUrl: string;
}

/** The cluster record: fixed once per generation by a conditional write. */
export interface ClusterRecord {
  readonly token: string;
  readonly generation: number;
  readonly size: number;
  readonly initialMembers: readonly InitialMember[];
  /** `forming` until the first member reports ready, then `running`. */
  readonly state: "forming" | "running";
  /** What the initial members restore before they start: set on a generation opened by recovery or
   * an operator's restore, absent on a bootstrap's (which starts empty). */
  readonly restoreSource?: RestoreSource | undefined;
  /** Epoch milliseconds the generation was opened; absent on records written before it was kept. */
  readonly openedAt?: number | undefined;
  /** etcd's cluster version as major.minor ("3.5"), recorded by the reconciler from the members'
   * versions (it only moves up, as etcd's own does); absent until every member has reported one. */
  readonly etcdVersion?: string | undefined;
}

export const NODE_PHASES = [
  "registered",
  "bootstrapping",
  "joining",
  "member",
  "not-a-member",
  "refused",
  "removed",
] as const;
export type NodePhase = (typeof NODE_PHASES)[number];

/** A node record of the ledger: what the control plane knows about one instance. */
export interface NodeRecord {
  readonly instanceId: string;
  readonly privateIp: string;
  /** Order of registration; the first `clusterSize` registered form the initial cluster. */
  readonly registration: number;
  /** The etcd member ID added for this instance, once MemberAdd has answered. */
  readonly memberId?: string | undefined;
  readonly phase: NodePhase;
  /** Epoch milliseconds of the last phase change. */
  readonly phaseSince: number;
  /** The etcd version the node reported it runs (the boot script's config request). */
  readonly etcdVersion?: string | undefined;
}

export interface MembershipLock {
  readonly holder: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  readonly version: number;
}

export interface LedgerState {
  readonly cluster: ClusterRecord | undefined;
  readonly nodes: readonly NodeRecord[];
  readonly lock: MembershipLock | undefined;
}

/** What the decision is about: a lifecycle event, a node's "ready" call, or a reconcile pass. */
export type Subject =
  | { readonly event: "launch" | "terminate" | "ready"; readonly instanceId: string }
  | { readonly event: "reconcile" };

export interface Snapshot {
  readonly policy: Policy;
  readonly subject: Subject;
  readonly instances: readonly Instance[];
  readonly members: readonly Member[];
  readonly ledger: LedgerState;
  /** Epoch milliseconds, read by the caller. */
  readonly now: number;
  /** Who decides: compared with the ledger's lock holder. */
  readonly actor: string;
  /** A fresh cluster token the caller drew, used only if this decision fixes the initial cluster. */
  readonly proposedToken: string;
}
