import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decide } from "../../../lambdas/domain/engine";
import {
  about,
  healthyCluster,
  instance,
  instanceId,
  member,
  NOW,
  node,
  withInstance,
  withMember,
} from "../../helpers/snapshots";

describe("terminate", () => {
  test("removes the leaving instance's member", () => {
    const s = about(withInstance(healthyCluster(3), 2, { lifecycleState: "Terminating:Wait" }), {
      event: "terminate",
      instanceId: instanceId(2),
    });
    const d = decide(s);
    assert.equal(d.kind, "remove");
    assert.equal(d.kind === "remove" && d.member.name, instanceId(2));
  });

  test("terminating 2 of 3 at once: the second removal is held, never below quorum", () => {
    // The first removal is done: 2 voters left, both still running etcd.
    const s = healthyCluster(3);
    const afterFirst = { ...s, members: s.members.filter((m) => m.name !== instanceId(1)) };
    const d = decide(about(afterFirst, { event: "terminate", instanceId: instanceId(2) }));
    assert.equal(d.kind, "wait");
    assert.match(d.reason, /termination held/);
  });

  test("a dead member is removed even when the cluster is at its floor", () => {
    const s = withMember(healthyCluster(3), 2, { healthy: false });
    const d = decide(about(s, { event: "terminate", instanceId: instanceId(2) }));
    assert.equal(d.kind, "remove");
  });

  test("an instance that is not a member is settled", () => {
    const d = decide(about(healthyCluster(3), { event: "terminate", instanceId: instanceId(9) }));
    assert.equal(d.kind, "settled");
  });

  test("before the cluster exists there is nothing to remove", () => {
    const s = healthyCluster(3);
    const d = decide(
      about(
        { ...s, ledger: { ...s.ledger, cluster: undefined }, members: [] },
        {
          event: "terminate",
          instanceId: instanceId(1),
        },
      ),
    );
    assert.equal(d.kind, "settled");
  });

  test("waits while another actor holds the membership lock", () => {
    const s = healthyCluster(3);
    const locked = {
      ...s,
      ledger: { ...s.ledger, lock: { holder: "other", expiresAt: NOW + 5000, version: 1 } },
    };
    assert.equal(decide(about(locked, { event: "terminate", instanceId: instanceId(1) })).kind, "wait");
  });

  test("an unstarted learner of a terminating instance is removed", () => {
    const base = healthyCluster(3);
    const learner = member(4, { name: "", started: false, healthy: false, isLearner: true, clientUrls: [] });
    const s = {
      ...base,
      members: [...base.members, learner],
      instances: [...base.instances, instance(4, "Terminating:Wait")],
    };
    const withNode = {
      ...s,
      ledger: {
        ...s.ledger,
        nodes: [...s.ledger.nodes, node(4, { phase: "joining" })],
      },
    };
    const d = decide(about(withNode, { event: "terminate", instanceId: instanceId(4) }));
    assert.equal(d.kind === "remove" && d.member.id, "1004");
  });
});

describe("ready", () => {
  const base = healthyCluster(3);
  const learner = member(4, { isLearner: true });
  const joining = {
    ...base,
    members: [...base.members, learner],
    instances: [...base.instances, instance(4, "Pending:Wait")],
  };

  test("promotes a learner that answers", () => {
    const d = decide(about(joining, { event: "ready", instanceId: instanceId(4) }));
    assert.equal(d.kind, "promote");
  });

  test("waits for a learner that has not answered a health check", () => {
    const s = withMember(joining, 4, { healthy: false });
    assert.equal(decide(about(s, { event: "ready", instanceId: instanceId(4) })).kind, "wait");
  });

  test("a voter is settled", () => {
    assert.equal(decide(about(base, { event: "ready", instanceId: instanceId(1) })).kind, "settled");
  });

  test("refuses an instance that is not a member", () => {
    assert.equal(decide(about(base, { event: "ready", instanceId: instanceId(8) })).kind, "refuse");
  });
});
