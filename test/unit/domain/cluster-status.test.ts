// The status report's assembly: the leader is the one a majority of the members name (a partitioned
// member's stale view does not make one), each member carries its own reading, instances their
// ledger phase and the etcd release their node reported, the cluster the etcd version the ledger
// records, Pending:Wait and Terminating:Wait instances are the pending lifecycle actions, and the
// last snapshot's age is taken at the reading's time.
import assert from "node:assert/strict";
import { test } from "node:test";
import { clusterStatus, type MemberReading, type StatusInput } from "../../../lambdas/domain/cluster-status";
import type { Member } from "../../../lambdas/domain/snapshot";

const member = (id: string, name: string, healthy = true): Member => ({
  id,
  name,
  peerUrls: [`https://10.0.0.${id}:2380`],
  clientUrls: [`https://10.0.0.${id}:2379`],
  isLearner: false,
  started: true,
  healthy,
});
const reading = (memberId: string, leaderId: string): MemberReading => ({
  memberId,
  leaderId,
  raftTerm: "4",
  raftIndex: `10${memberId}`,
  version: "3.4.23",
  errors: [],
});

const input = (readings: MemberReading[]): StatusInput => ({
  instances: [
    { id: "i-1", lifecycleState: "InService", privateIp: "10.0.0.1", launchTime: 0 },
    { id: "i-2", lifecycleState: "InService", privateIp: "10.0.0.2", launchTime: 0 },
    { id: "i-3", lifecycleState: "Terminating:Wait", privateIp: "10.0.0.3", launchTime: 0 },
    { id: "i-4", lifecycleState: "Pending:Wait", privateIp: undefined, launchTime: 0 },
  ],
  ledger: {
    cluster: {
      token: "t",
      generation: 2,
      size: 3,
      initialMembers: [],
      state: "running",
      etcdVersion: "3.5",
    },
    nodes: [
      {
        instanceId: "i-1",
        privateIp: "10.0.0.1",
        registration: 1,
        memberId: "1",
        phase: "member",
        phaseSince: 0,
        etcdVersion: "3.5.21",
      },
    ],
    lock: undefined,
  },
  members: [member("1", "i-1"), member("2", "i-2"), member("3", "i-3", false)],
  readings,
  latestSnapshot: {
    key: "k",
    token: "t",
    generation: 2,
    revision: 7,
    size: 100,
    sha256: "00",
    member: { instanceId: "i-1", memberId: "1" },
    takenAt: 1_000,
  },
  drift: [],
  now: 61_000,
});

test("the leader is the member a majority names, with each member's own reading", () => {
  const status = clusterStatus(input([reading("1", "2"), reading("2", "2")]));
  assert.equal(status.leader, "2");
  assert.deepEqual(
    status.members.map((m) => [m.id, m.leader, m.healthy, m.raftIndex]),
    [
      ["1", false, true, "101"],
      ["2", true, true, "102"],
      ["3", false, false, undefined],
    ],
  );
});

test("one member's view of a leader is not a leader", () => {
  assert.equal(clusterStatus(input([reading("1", "3"), reading("2", "0")])).leader, undefined);
});

test("instances carry their ledger phase and reported etcd release; the waiting ones are the pending lifecycle actions", () => {
  const status = clusterStatus(input([]));
  assert.deepEqual(
    status.instances.map((i) => [i.id, i.phase, i.memberId, i.etcdVersion]),
    [
      ["i-1", "member", "1", "3.5.21"],
      ["i-2", undefined, undefined, undefined],
      ["i-3", undefined, undefined, undefined],
      ["i-4", undefined, undefined, undefined],
    ],
  );
  assert.deepEqual(status.pendingLifecycleActions, [
    { instanceId: "i-3", lifecycleState: "Terminating:Wait" },
    { instanceId: "i-4", lifecycleState: "Pending:Wait" },
  ]);
  assert.deepEqual(status.cluster, {
    token: "t",
    generation: 2,
    size: 3,
    state: "running",
    etcdVersion: "3.5",
  });
  assert.equal(status.lastSnapshot?.ageMs, 60_000);
});
