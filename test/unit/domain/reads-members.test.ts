import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decide, readsMembers } from "../../../lambdas/domain/engine";
import type { Snapshot } from "../../../lambdas/domain/snapshot";
import { cluster, healthyCluster, instanceId, launching, member, range } from "../../helpers/snapshots";

/** A cluster of 3 whose ledger says it is still forming, with instance `n` launching. */
function formingLaunch(n: number): Snapshot {
  const snapshot = launching(healthyCluster(3), n);
  return { ...snapshot, ledger: { ...snapshot.ledger, cluster: cluster(range(1, 3), "forming") } };
}

describe("which decisions read etcd's member list", () => {
  test("a launch while the cluster forms is decided the same whatever etcd's members are", () => {
    const memberLists = [[], range(1, 3).map((n) => member(n)), [member(1, { started: false, name: "" })]];
    for (const n of range(1, 5)) {
      const decisions = memberLists.map((members) => decide({ ...formingLaunch(n), members }));
      for (const decision of decisions) assert.deepEqual(decision, decisions[0], instanceId(n));
    }
    assert.equal(
      readsMembers({ event: "launch", instanceId: instanceId(1) }, cluster([1, 2, 3], "forming")),
      false,
    );
  });

  test("no decision reads members before the ledger holds a cluster", () => {
    for (const subject of [
      { event: "reconcile" } as const,
      { event: "ready", instanceId: instanceId(1) } as const,
    ])
      assert.equal(readsMembers(subject, undefined), false);
  });

  test("ready, terminate and reconcile read members while forming; every subject reads them once running", () => {
    const forming = cluster([1, 2, 3], "forming");
    const running = cluster([1, 2, 3], "running");
    const id = instanceId(1);
    for (const event of ["ready", "terminate"] as const)
      assert.equal(readsMembers({ event, instanceId: id }, forming), true);
    assert.equal(readsMembers({ event: "reconcile" }, forming), true);
    assert.equal(readsMembers({ event: "launch", instanceId: id }, running), true);
  });
});
