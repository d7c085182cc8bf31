// What `etcd-asg status` shows, assembled from one reading of the group, the ledger and etcd: each
// member with its health, role and raft index, the leader, the ledger's cluster and generation, each
// instance's lifecycle state and node phase, the lifecycle actions still pending, the last snapshot
// and the drift. Plain data in, plain data out.
import type { SnapshotRecord } from "./durability";
import type { Instance, LedgerState, Member } from "./snapshot";

/** What one member's Maintenance.Status said (absent when its client URL did not answer). */
export interface MemberReading {
  readonly memberId: string;
  /** "0" while the member knows no leader. */
  readonly leaderId: string;
  readonly raftTerm: string;
  readonly raftIndex: string;
  readonly version: string;
  readonly errors: readonly string[];
}

export interface StatusInput {
  readonly instances: readonly Instance[];
  readonly ledger: LedgerState;
  readonly members: readonly Member[];
  readonly readings: readonly MemberReading[];
  readonly latestSnapshot: SnapshotRecord | undefined;
  readonly drift: readonly string[];
  readonly now: number;
}

export interface MemberStatus {
  readonly id: string;
  /** The instance ID it was started with; empty until it has started. */
  readonly name: string;
  readonly clientUrl: string | undefined;
  readonly healthy: boolean;
  readonly learner: boolean;
  readonly leader: boolean;
  readonly raftTerm: string | undefined;
  readonly raftIndex: string | undefined;
  readonly version: string | undefined;
  /** Alarms the member reports, e.g. NOSPACE. */
  readonly alarms: readonly string[];
}

export interface InstanceStatus {
  readonly id: string;
  readonly lifecycleState: string;
  readonly privateIp: string | undefined;
  /** The ledger's phase for its node; undefined when the ledger holds none. */
  readonly phase: string | undefined;
  readonly memberId: string | undefined;
  /** The etcd release its node reported it installed; undefined before it reported. */
  readonly etcdVersion: string | undefined;
}

export interface ClusterStatus {
  readonly cluster:
    | {
        readonly token: string;
        readonly generation: number;
        readonly size: number;
        readonly state: string;
        /** etcd's cluster version (major.minor) the ledger records; undefined until every member
         * has reported a version. */
        readonly etcdVersion: string | undefined;
      }
    | undefined;
  /** The member ID a majority of the members that answered name as leader; undefined when none. */
  readonly leader: string | undefined;
  readonly members: readonly MemberStatus[];
  readonly instances: readonly InstanceStatus[];
  /** Instances waiting on a lifecycle action of the control plane (Pending:Wait, Terminating:Wait). */
  readonly pendingLifecycleActions: readonly {
    readonly instanceId: string;
    readonly lifecycleState: string;
  }[];
  readonly lastSnapshot:
    | {
        readonly key: string;
        readonly generation: number;
        readonly revision: number;
        readonly size: number;
        /** Epoch milliseconds. */
        readonly takenAt: number;
        readonly ageMs: number;
      }
    | undefined;
  readonly drift: readonly string[];
}

const WAITING = new Set(["Pending:Wait", "Terminating:Wait"]);

export function clusterStatus(input: StatusInput): ClusterStatus {
  const readingOf = (id: string) => input.readings.find((r) => r.memberId === id);
  const leader = leaderOf(input.readings, input.members.length);
  const { cluster } = input.ledger;
  const snapshot = input.latestSnapshot;
  return {
    cluster:
      cluster === undefined
        ? undefined
        : {
            token: cluster.token,
            generation: cluster.generation,
            size: cluster.size,
            state: cluster.state,
            etcdVersion: cluster.etcdVersion,
          },
    leader,
    members: input.members.map((m) => {
      const reading = readingOf(m.id);
      return {
        id: m.id,
        name: m.name,
        clientUrl: m.clientUrls[0],
        healthy: m.healthy,
        learner: m.isLearner,
        leader: m.id === leader,
        raftTerm: reading?.raftTerm,
        raftIndex: reading?.raftIndex,
        version: reading?.version,
        alarms: reading?.errors ?? [],
      };
    }),
    instances: input.instances.map((i) => {
      const node = input.ledger.nodes.find((n) => n.instanceId === i.id);
      return {
        id: i.id,
        lifecycleState: i.lifecycleState,
        privateIp: i.privateIp,
        phase: node?.phase,
        memberId: node?.memberId,
        etcdVersion: node?.etcdVersion,
      };
    }),
    pendingLifecycleActions: input.instances
      .filter((i) => WAITING.has(i.lifecycleState))
      .map((i) => ({ instanceId: i.id, lifecycleState: i.lifecycleState })),
    lastSnapshot:
      snapshot === undefined
        ? undefined
        : {
            key: snapshot.key,
            generation: snapshot.generation,
            revision: snapshot.revision,
            size: snapshot.size,
            takenAt: snapshot.takenAt,
            ageMs: input.now - snapshot.takenAt,
          },
    drift: input.drift,
  };
}

/** The leader a quorum of the members agrees on: one stale member's view does not make a leader. */
function leaderOf(readings: readonly MemberReading[], memberCount: number): string | undefined {
  const votes = new Map<string, number>();
  for (const r of readings) if (r.leaderId !== "0") votes.set(r.leaderId, (votes.get(r.leaderId) ?? 0) + 1);
  return [...votes].find(([, count]) => count * 2 > memberCount)?.[0];
}
