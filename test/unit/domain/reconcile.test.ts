import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decide } from "../../../lambdas/domain/engine";
import type { Snapshot } from "../../../lambdas/domain/snapshot";
import {
  healthyCluster,
  instance,
  instanceId,
  member,
  NOW,
  node,
  withInstance,
  withoutInstance,
} from "../../helpers/snapshots";

function reconcile(s: Snapshot) {
  return decide({ ...s, subject: { event: "reconcile" } });
}

describe("reconcile", () => {
  test("settled when etcd's members match the instances", () => {
    assert.equal(reconcile(healthyCluster(3)).kind, "settled");
  });

  test("removes a member whose instance is gone (a lost terminate event)", () => {
    const d = reconcile(withoutInstance(healthyCluster(5), 4));
    assert.equal(d.kind === "remove" && d.member.name, instanceId(4));
  });

  test("removes a member whose instance is terminated", () => {
    const d = reconcile(withInstance(healthyCluster(5), 2, { lifecycleState: "Terminated" }));
    assert.equal(d.kind === "remove" && d.member.name, instanceId(2));
  });

  test("removes a stale member whose peer URL was reused first", () => {
    let s = withoutInstance(withoutInstance(healthyCluster(5), 4), 5);
    // instance 6 now has instance 5's IP.
    s = { ...s, instances: [...s.instances, { ...instance(6, "Pending:Wait"), privateIp: "127.0.1.5" }] };
    const d = reconcile(s);
    assert.equal(d.kind === "remove" && d.member.name, instanceId(5));
    assert.match(d.reason, /stale/);
  });

  test("never removes a member whose name is not an instance ID", () => {
    const s = healthyCluster(3);
    const manual = member(7, { name: "etcd-manual" });
    assert.equal(reconcile({ ...s, members: [...s.members, manual] }).kind, "settled");
  });

  test("removes a learner that never started and abandons its launch", () => {
    const base = healthyCluster(3);
    const learner = member(4, { name: "", isLearner: true, started: false, healthy: false, clientUrls: [] });
    const s: Snapshot = {
      ...base,
      members: [...base.members, learner],
      instances: [...base.instances, instance(4, "Pending:Wait")],
      ledger: {
        ...base.ledger,
        nodes: [...base.ledger.nodes, node(4, { phase: "joining", phaseSince: NOW - 700_000 })],
      },
    };
    const d = reconcile(s);
    assert.equal(d.kind, "remove");
    assert.equal(d.kind === "remove" && d.abandon, instanceId(4));
  });

  test("keeps a learner that is still within its ready timeout", () => {
    const base = healthyCluster(3);
    const learner = member(4, { name: "", isLearner: true, started: false, healthy: false, clientUrls: [] });
    const s: Snapshot = {
      ...base,
      members: [...base.members, learner],
      instances: [...base.instances, instance(4, "Pending:Wait")],
      ledger: {
        ...base.ledger,
        nodes: [...base.ledger.nodes, node(4, { phase: "joining", phaseSince: NOW - 1_000 })],
      },
    };
    assert.equal(reconcile(s).kind, "settled");
  });

  test("promotes a learner that answers", () => {
    const base = healthyCluster(3);
    const s = {
      ...base,
      members: [...base.members, member(4, { isLearner: true })],
      instances: [...base.instances, instance(4)],
    };
    assert.equal(reconcile(s).kind, "promote");
  });

  test("holds a removal that would lose quorum", () => {
    // 3 voters; instance 3 gone; member 2 down: removing 3 leaves 1 healthy of 2.
    let s = withoutInstance(healthyCluster(3), 3);
    s = {
      ...s,
      members: s.members.map((m) =>
        m.name === instanceId(3) ? m : m.name === instanceId(2) ? { ...m, healthy: false } : m,
      ),
    };
    const d = reconcile(s);
    assert.equal(d.kind, "wait");
    assert.match(d.reason, /quorum at risk/);
  });
});
