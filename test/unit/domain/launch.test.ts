import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decide } from "../../../lambdas/domain/engine";
import type { Snapshot } from "../../../lambdas/domain/snapshot";
import {
  cluster,
  healthyCluster,
  instance,
  instanceId,
  launching,
  member,
  NOW,
  node,
  policy,
  withInstance,
  withMember,
  withoutInstance,
} from "../../helpers/snapshots";

function fresh(size: number, registered: number[], launchingN: number): Snapshot {
  const all = [...new Set([...registered, launchingN])];
  return {
    policy: policy(size),
    subject: { event: "launch", instanceId: instanceId(launchingN) },
    instances: all.map((n) => instance(n, "Pending:Wait")),
    members: [],
    ledger: {
      cluster: undefined,
      nodes: registered.map((n) => node(n, { phase: "registered", memberId: undefined })),
      lock: undefined,
    },
    now: NOW,
    actor: "test-actor",
    proposedToken: "etcd-asg-proposed",
  };
}

describe("launch: bootstrap", () => {
  test("waits until as many instances as the cluster size have registered", () => {
    const d = decide(fresh(3, [1, 2], 2));
    assert.equal(d.kind, "wait");
    assert.match(d.reason, /2 of 3 instances registered/);
  });

  test("the first N registered form the initial set, with the proposed token", () => {
    const d = decide(fresh(3, [1, 2, 3, 4, 5], 2));
    assert.equal(d.kind, "bootstrap");
    assert.deepEqual(
      d.kind === "bootstrap" && d.initialMembers.map((m) => m.instanceId),
      [1, 2, 3].map(instanceId),
    );
    assert.equal(d.kind === "bootstrap" && d.token, "etcd-asg-proposed");
  });

  test("an instance registered after the first N waits for the cluster to run", () => {
    const d = decide(fresh(3, [1, 2, 3, 4, 5], 5));
    assert.equal(d.kind, "wait");
    assert.match(d.reason, /initial set of 3 is taken/);
  });

  test("an instance that has not registered waits", () => {
    assert.equal(decide(fresh(3, [1, 2, 3], 9)).kind, "wait");
  });

  test("while the generation forms, an initial member gets the ledger's set and token again", () => {
    const s = fresh(3, [1, 2, 3], 3);
    const d = decide({ ...s, ledger: { ...s.ledger, cluster: cluster([1, 2, 3], "forming") } });
    assert.equal(d.kind, "bootstrap");
    assert.equal(d.kind === "bootstrap" && d.token, "etcd-asg-test-g1");
  });

  test("while the generation forms, an instance outside the initial set waits", () => {
    const s = fresh(3, [1, 2, 3, 4], 4);
    const d = decide({ ...s, ledger: { ...s.ledger, cluster: cluster([1, 2, 3], "forming") } });
    assert.equal(d.kind, "wait");
  });

  test("never bootstraps once the ledger says the cluster runs", () => {
    const s = fresh(3, [1, 2, 3], 1);
    const d = decide({ ...s, ledger: { ...s.ledger, cluster: cluster([1, 2, 3], "running") } });
    assert.notEqual(d.kind, "bootstrap");
  });
});

describe("launch: join", () => {
  test("joins as a learner when the cluster has room", () => {
    const base = healthyCluster(3);
    const d = decide(launching({ ...base, policy: policy(5) }, 4));
    assert.equal(d.kind, "join");
    assert.deepEqual(d.kind === "join" && d.add, { name: instanceId(4), peerUrl: "http://127.0.1.4:2380" });
    assert.equal(d.kind === "join" && d.removeFirst, undefined);
  });

  test("add strategy: a full cluster leaves the node out", () => {
    const d = decide(launching(healthyCluster(3, "add"), 4));
    assert.equal(d.kind, "not-a-member");
  });

  test("replace strategy: a full healthy cluster leaves the node out", () => {
    assert.equal(decide(launching(healthyCluster(3, "replace"), 4)).kind, "not-a-member");
  });

  test("replace strategy: removes the dead member before adding when the cluster is full", () => {
    const s = withMember(healthyCluster(3, "replace"), 2, { healthy: false });
    const d = decide(launching(s, 4));
    assert.equal(d.kind, "join");
    assert.equal(d.kind === "join" && d.removeFirst?.name, instanceId(2));
  });

  test("replace strategy: prefers a member whose instance is gone over one that is only unhealthy", () => {
    let s = withMember(healthyCluster(5, "replace"), 2, { healthy: false });
    s = withoutInstance(withMember(s, 4, { healthy: false }), 4);
    const d = decide(launching(s, 6));
    assert.equal(d.kind === "join" && d.removeFirst?.name, instanceId(4));
  });

  test("prune strategy: removes dead members one at a time before joining", () => {
    let s = healthyCluster(5, "prune");
    s = withMember(withMember(s, 1, { healthy: false }), 2, { healthy: false });
    const d = decide(launching(s, 6));
    assert.equal(d.kind, "remove");
  });

  test("prepare strategy: a node without a prepared entry stays out", () => {
    const base = healthyCluster(3, "prepare");
    assert.equal(decide(launching({ ...base, policy: policy(5, "prepare") }, 4)).kind, "not-a-member");
  });

  test("prepare strategy: a prepared (added, unstarted) entry is the node's own", () => {
    const base = healthyCluster(3, "prepare");
    const prepared = member(4, { name: "", clientUrls: [], started: false, healthy: false, isLearner: true });
    const s = launching({ ...base, policy: policy(5, "prepare"), members: [...base.members, prepared] }, 4);
    assert.equal(decide(s).kind, "settled");
  });

  test("a member with this node's peer URL under another name is stale and goes first", () => {
    const s = healthyCluster(3);
    const stale = member(3, { id: "9999", name: instanceId(33) });
    const withStale = { ...s, members: [...s.members.filter((m) => m.id !== "1003"), stale] };
    const d = decide(launching(withoutInstance(withStale, 3), 3));
    assert.equal(d.kind, "join");
    assert.equal(d.kind === "join" && d.removeFirst?.id, "9999");
  });

  test("waits while another learner is joining: one learner at a time", () => {
    const base = healthyCluster(3);
    const learner = member(4, { isLearner: true });
    const s = launching(
      {
        ...base,
        policy: policy(5),
        members: [...base.members, learner],
        instances: [...base.instances, instance(4)],
      },
      5,
    );
    const d = decide(s);
    assert.equal(d.kind, "wait");
    assert.match(d.reason, /one learner at a time/);
  });

  test("never adds while started voters would be fewer than the new quorum", () => {
    // 4 voters, 2 down: quorum of 5 would be 3, only 2 are up.
    let s = healthyCluster(4);
    s = { ...s, policy: policy(5) };
    s = withMember(withMember(s, 1, { healthy: false }), 2, { healthy: false });
    const d = decide(launching(s, 5));
    assert.equal(d.kind, "refuse");
    assert.match(d.reason, /2 of 4 voters healthy/);
  });

  test("waits when adding would put quorum at risk though the cluster still has it", () => {
    // 3 voters, 1 down: quorum of 4 would be 3, only 2 are up.
    const s = withMember({ ...healthyCluster(3), policy: policy(5) }, 3, { healthy: false });
    const d = decide(launching(s, 4));
    assert.equal(d.kind, "wait");
    assert.match(d.reason, /would put quorum at risk/);
  });

  test("refuses when quorum is already lost", () => {
    let s = healthyCluster(3);
    s = withMember(withMember(s, 1, { healthy: false }), 2, { healthy: false });
    const d = decide(launching(s, 4));
    assert.equal(d.kind, "refuse");
    assert.match(d.reason, /quorum is lost/);
  });

  test("waits while another actor holds the membership lock", () => {
    const s = healthyCluster(3);
    const locked = {
      ...s,
      policy: policy(5),
      ledger: { ...s.ledger, lock: { holder: "other", expiresAt: NOW + 1, version: 4 } },
    };
    const d = decide(launching(locked, 4));
    assert.equal(d.kind, "wait");
    assert.match(d.reason, /lock held by other/);
  });

  test("an expired lock does not block", () => {
    const s = healthyCluster(3);
    const locked = {
      ...s,
      policy: policy(5),
      ledger: { ...s.ledger, lock: { holder: "other", expiresAt: NOW, version: 4 } },
    };
    assert.equal(decide(launching(locked, 4)).kind, "join");
  });

  test("an instance already a member is settled (a duplicated launch event adds nothing)", () => {
    const s = healthyCluster(3);
    assert.equal(decide({ ...s, subject: { event: "launch", instanceId: instanceId(2) } }).kind, "settled");
  });

  test("waits for a private IP", () => {
    const s = withInstance(launching(healthyCluster(3), 4), 4, { privateIp: undefined });
    assert.equal(decide(s).kind, "wait");
  });

  test("refuses an instance that is already terminating", () => {
    const s = withInstance(launching(healthyCluster(3), 4), 4, { lifecycleState: "Terminating:Wait" });
    assert.equal(decide(s).kind, "refuse");
  });

  test("waits while no etcd member answers", () => {
    assert.equal(decide(launching({ ...healthyCluster(3), members: [] }, 4)).kind, "wait");
  });

  test("joins one of 7 when the cluster grows from 5", () => {
    const base = healthyCluster(5);
    const d = decide(launching({ ...base, policy: policy(7) }, 6));
    assert.equal(d.kind, "join");
  });
});
