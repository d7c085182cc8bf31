// Builds membership-engine snapshots for tests: a healthy cluster by default, changed per test.
import type {
  ClusterRecord,
  Instance,
  JoinStrategy,
  Member,
  NodeRecord,
  Policy,
  Snapshot,
  Subject,
} from "../../lambdas/domain/snapshot";

export const NOW = 1_700_000_000_000;

export function instanceId(n: number): string {
  return `i-${n.toString(16).padStart(17, "0")}`;
}

export function ipOf(n: number): string {
  return `127.0.1.${n}`;
}

export function policy(clusterSize = 3, strategy: JoinStrategy = "replace"): Policy {
  return {
    clusterSize,
    strategy,
    peerScheme: "http",
    peerPort: 2380,
    clientPort: 2379,
    learnerReadyTimeoutMs: 600_000,
  };
}

export function instance(n: number, lifecycleState = "InService"): Instance {
  return { id: instanceId(n), lifecycleState, privateIp: ipOf(n), launchTime: NOW - 60_000 + n };
}

export function member(n: number, overrides: Partial<Member> = {}): Member {
  return {
    id: String(1000 + n),
    name: instanceId(n),
    peerUrls: [`http://${ipOf(n)}:2380`],
    clientUrls: [`http://${ipOf(n)}:2379`],
    isLearner: false,
    started: true,
    healthy: true,
    ...overrides,
  };
}

export function node(n: number, overrides: Partial<NodeRecord> = {}): NodeRecord {
  return {
    instanceId: instanceId(n),
    privateIp: ipOf(n),
    registration: n,
    memberId: String(1000 + n),
    phase: "member",
    phaseSince: NOW - 30_000,
    ...overrides,
  };
}

export function cluster(
  initial: readonly number[],
  state: ClusterRecord["state"] = "running",
): ClusterRecord {
  return {
    token: "etcd-asg-test-g1",
    generation: 1,
    size: initial.length,
    initialMembers: initial.map((n) => ({ instanceId: instanceId(n), peerUrl: `http://${ipOf(n)}:2380` })),
    state,
  };
}

/** A running, healthy cluster of members 1..size, each on its own InService instance. */
export function healthyCluster(size = 3, strategy: JoinStrategy = "replace"): Snapshot {
  const ns = range(1, size);
  return {
    policy: policy(size, strategy),
    subject: { event: "reconcile" },
    instances: ns.map((n) => instance(n)),
    members: ns.map((n) => member(n)),
    ledger: { cluster: cluster(ns), nodes: ns.map((n) => node(n)), lock: undefined },
    now: NOW,
    actor: "test-actor",
    proposedToken: "etcd-asg-proposed",
  };
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

export function about(snapshot: Snapshot, subject: Subject): Snapshot {
  return { ...snapshot, subject };
}

/** The snapshot with instance `n` launching (Pending:Wait, registered, not a member). */
export function launching(snapshot: Snapshot, n: number): Snapshot {
  return {
    ...snapshot,
    subject: { event: "launch", instanceId: instanceId(n) },
    instances: [...snapshot.instances.filter((i) => i.id !== instanceId(n)), instance(n, "Pending:Wait")],
    ledger: {
      ...snapshot.ledger,
      nodes: [
        ...snapshot.ledger.nodes.filter((r) => r.instanceId !== instanceId(n)),
        node(n, { memberId: undefined, phase: "registered" }),
      ],
    },
  };
}

export function withMember(snapshot: Snapshot, n: number, overrides: Partial<Member>): Snapshot {
  return {
    ...snapshot,
    members: snapshot.members.map((m) => (m.id === String(1000 + n) ? { ...m, ...overrides } : m)),
  };
}

export function withInstance(snapshot: Snapshot, n: number, overrides: Partial<Instance>): Snapshot {
  return {
    ...snapshot,
    instances: snapshot.instances.map((i) => (i.id === instanceId(n) ? { ...i, ...overrides } : i)),
  };
}

export function withoutInstance(snapshot: Snapshot, n: number): Snapshot {
  return { ...snapshot, instances: snapshot.instances.filter((i) => i.id !== instanceId(n)) };
}
