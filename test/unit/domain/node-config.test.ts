import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { etcdStorageSettings } from "../../../lambdas/domain/etcd-storage";
import { nodeConfig } from "../../../lambdas/domain/node-config";
import type { Snapshot } from "../../../lambdas/domain/snapshot";
import { START_AFTER_CLOSED_MS } from "../../../lambdas/domain/start-order";
import { cluster, healthyCluster, instance, instanceId, member } from "../../helpers/snapshots";

const bootstrap = { kind: "bootstrap", initialMembers: [], token: "x", reason: "first 3" } as const;
const STORAGE = etcdStorageSettings(20);

describe("published node configuration", () => {
  test("an initial member of a forming generation starts new with the initial set and token", () => {
    const s: Snapshot = { ...healthyCluster(3), members: [] };
    const forming = { ...s, ledger: { ...s.ledger, cluster: cluster([1, 2, 3], "forming") } };
    const c = nodeConfig(forming, instanceId(2), bootstrap, [], "/var/lib/etcd", STORAGE);
    assert.equal(c.role, "member");
    assert.deepEqual(c.etcd, {
      name: instanceId(2),
      initialCluster: [1, 2, 3].map((n) => `${instanceId(n)}=http://127.0.1.${n}:2380`).join(","),
      initialClusterState: "new",
      initialClusterToken: "etcd-asg-test-g1",
      initialAdvertisePeerUrls: "http://127.0.1.2:2380",
      listenPeerUrls: "http://127.0.1.2:2380",
      listenClientUrls: "http://127.0.1.2:2379",
      advertiseClientUrls: "http://127.0.1.2:2379",
      dataDir: "/var/lib/etcd",
      quotaBackendBytes: 8 * 1024 ** 3,
      autoCompactionMode: "periodic",
      autoCompactionRetention: "1h",
    });
  });

  test("an initial member of a new cluster starts after the first initial member; a restoring one does not", () => {
    const s: Snapshot = { ...healthyCluster(3), members: [] };
    const formed = cluster([1, 2, 3], "forming");
    const forming = { ...s, ledger: { ...s.ledger, cluster: formed } };
    const configOf = (snapshot: Snapshot, n: number) =>
      nodeConfig(snapshot, instanceId(n), bootstrap, [], "/var/lib/etcd", STORAGE);
    assert.equal(configOf(forming, 1).startAfter, undefined, "etcd asks member 1 first: it waits for nobody");
    for (const n of [2, 3]) {
      assert.deepEqual(configOf(forming, n).startAfter, {
        peerUrl: "http://127.0.1.1:2380",
        closedMs: START_AFTER_CLOSED_MS,
      });
    }
    const source = {
      kind: "snapshot",
      key: "etcd-asg/etcd-asg-test-g1/1.db",
      sha256: "0".repeat(64),
      size: 1,
      revision: 1,
      token: "etcd-asg-test-g1",
      generation: 1,
      member: { instanceId: instanceId(1), memberId: "1" },
    } as const;
    const restoring = { ...s, ledger: { ...s.ledger, cluster: { ...formed, restoreSource: source } } };
    assert.equal(configOf(restoring, 2).startAfter, undefined, "a restored data dir skips etcd's check");
    assert.equal(configOf(healthyCluster(3), 2).startAfter, undefined, "existing skips etcd's check");
  });

  test("a joining learner starts existing with every current member, itself included", () => {
    const base = healthyCluster(3);
    const s = { ...base, instances: [...base.instances, instance(4, "Pending:Wait")] };
    const added = member(4, { name: "", isLearner: true, started: false, healthy: false, clientUrls: [] });
    const ledger = { ...s.ledger, nodes: [...s.ledger.nodes] };
    const d = {
      kind: "join",
      removeFirst: undefined,
      add: { name: instanceId(4), peerUrl: "" },
      reason: "room",
    } as const;
    const c = nodeConfig({ ...s, ledger }, instanceId(4), d, [...s.members, added], "/data", STORAGE);
    assert.equal(c.role, "learner");
    assert.equal(c.etcd?.initialClusterState, "existing");
    assert.equal(
      c.etcd?.initialCluster,
      [1, 2, 3, 4].map((n) => `${instanceId(n)}=http://127.0.1.${n}:2380`).join(","),
    );
  });

  test("an initial member is never told new once the cluster runs", () => {
    const c = nodeConfig(
      healthyCluster(3),
      instanceId(1),
      { kind: "settled", reason: "voter" },
      healthyCluster(3).members,
      "/d",
      STORAGE,
    );
    assert.equal(c.etcd?.initialClusterState, "existing");
  });

  test("a node left out gets no etcd settings", () => {
    const c = nodeConfig(
      healthyCluster(3),
      instanceId(4),
      { kind: "not-a-member", reason: "full" },
      [],
      "/d",
      STORAGE,
    );
    assert.deepEqual(c, { role: "not-a-member", reason: "full", etcd: undefined });
  });

  test("a node told to wait gets no etcd settings", () => {
    const c = nodeConfig(
      healthyCluster(3),
      instanceId(4),
      { kind: "wait", reason: "lock" },
      healthyCluster(3).members,
      "/d",
      STORAGE,
    );
    assert.equal(c.role, "wait");
    assert.equal(c.etcd, undefined);
  });
});
