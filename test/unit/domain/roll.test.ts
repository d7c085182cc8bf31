// The roll rules of a launch: a replacement launched from another launch template version joins a
// full, healthy cluster as voter N + 1 (the surge), never breaking a membership rule, and etcd's
// version rules decide whether a node may join at all.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decide } from "../../../lambdas/domain/engine";
import { etcdStorageSettings } from "../../../lambdas/domain/etcd-storage";
import { nodeConfig } from "../../../lambdas/domain/node-config";
import { clusterVersionUpdate } from "../../../lambdas/domain/roll";
import type { JoinStrategy, Snapshot } from "../../../lambdas/domain/snapshot";
import { ClusterView } from "../../../lambdas/domain/view";
import { healthyCluster, instanceId, launching, member, node, withMember } from "../../helpers/snapshots";

const LT = "lt-0abc";

/** Every instance of the snapshot on launch template version `version`. */
function onVersion(snapshot: Snapshot, version: string): Snapshot {
  return {
    ...snapshot,
    instances: snapshot.instances.map((i) => ({ ...i, launchTemplate: { id: LT, version } })),
  };
}

/** Instance `n` launches from launch template version `version`, having reported `reported` (if any). */
function replacement(snapshot: Snapshot, n: number, version: string, reported?: string): Snapshot {
  const s = launching(snapshot, n);
  return {
    ...s,
    instances: s.instances.map((i) =>
      i.id === instanceId(n) ? { ...i, launchTemplate: { id: LT, version } } : i,
    ),
    ledger: {
      ...s.ledger,
      nodes: s.ledger.nodes.map((r) =>
        r.instanceId === instanceId(n) ? { ...r, etcdVersion: reported } : r,
      ),
    },
  };
}

/** A running cluster of `size` on launch template version 1 whose nodes reported `version`. */
function rolling(size: number, version = "3.5.21", strategy: JoinStrategy = "replace"): Snapshot {
  const s = onVersion(healthyCluster(size, strategy), "1");
  return {
    ...s,
    ledger: { ...s.ledger, nodes: s.ledger.nodes.map((r) => ({ ...r, etcdVersion: version })) },
  };
}

/** Node `n`'s ledger record without the etcd version it reported. */
function withoutReport(s: Snapshot, n: number): Snapshot {
  return {
    ...s,
    ledger: { ...s.ledger, nodes: s.ledger.nodes.map((r) => (r.instanceId === instanceId(n) ? node(n) : r)) },
  };
}

describe("surge: a roll's replacement joins as voter N + 1", () => {
  for (const strategy of ["replace", "add", "prune"] as const) {
    test(`${strategy}: a replacement from a newer version joins a full, healthy cluster as a learner`, () => {
      const d = decide(replacement(rolling(3, "3.5.21", strategy), 4, "2", "3.5.22"));
      assert.equal(d.kind, "join", d.reason);
      assert.equal(d.kind === "join" && d.removeFirst, undefined);
      assert.match(d.reason, /a roll is under way.*voter 4 of 3/);
      assert.match(d.reason, /patch releases move freely/);
    });
  }

  test("a replacement from an older version (the roll's rollback) joins the same way", () => {
    const d = decide(replacement(onVersion(rolling(3), "2"), 4, "1", "3.5.21"));
    assert.equal(d.kind, "join", d.reason);
  });

  test("prepare strategy: no surge, nothing was prepared", () => {
    assert.equal(decide(replacement(rolling(3, "3.5.21", "prepare"), 4, "2", "3.5.22")).kind, "not-a-member");
  });

  test("an instance of the voters' own version stays out of a full cluster, as before", () => {
    assert.equal(decide(replacement(rolling(3), 4, "1", "3.5.21")).kind, "not-a-member");
  });

  test("never more than N + 1 voters: once the surge voter is promoted, the next replacement stays out", () => {
    let s = rolling(3);
    s = replacement(s, 4, "2", "3.5.22");
    s = { ...s, members: [...s.members, member(4)] };
    s = replacement(s, 5, "2", "3.5.22");
    const d = decide(s);
    assert.equal(d.kind, "not-a-member", d.reason);
  });

  test("one learner at a time: waits while the surge learner is still joining", () => {
    let s = replacement(rolling(3), 4, "2", "3.5.22");
    s = { ...s, members: [...s.members, member(4, { isLearner: true })] };
    s = replacement(s, 5, "2", "3.5.22");
    const d = decide(s);
    assert.equal(d.kind, "wait");
    assert.match(d.reason, /one learner at a time/);
  });

  test("a dead voter is replaced first (replace strategy), not surged over", () => {
    const s = withMember(rolling(3), 2, { healthy: false });
    const d = decide(replacement(s, 4, "2", "3.5.22"));
    assert.equal(d.kind, "join");
    assert.equal(d.kind === "join" && d.removeFirst?.name, instanceId(2));
  });

  test("add strategy with a silent voter: stays out rather than add beside it", () => {
    const s = withMember(rolling(3, "3.5.21", "add"), 2, { healthy: false });
    assert.equal(decide(replacement(s, 4, "2", "3.5.22")).kind, "not-a-member");
  });

  test("5 voters: a replacement makes 6, whose quorum of 4 the 5 healthy voters keep", () => {
    const d = decide(replacement(rolling(5), 6, "2", "3.5.22"));
    assert.equal(d.kind, "join", d.reason);
    assert.match(d.reason, /voter 6 of 5/);
  });
});

describe("etcd's version rules at a launch into a running cluster", () => {
  test("a node from another launch template version waits until it reports its etcd version", () => {
    const d = decide(replacement(rolling(3), 4, "2"));
    assert.equal(d.kind, "wait");
    assert.match(d.reason, /reports the etcd version it installed/);
  });

  test("a node from a voter's own launch template version runs that voter's release: it passes unreported", () => {
    const s = { ...rolling(3), policy: { ...rolling(3).policy, clusterSize: 5 } };
    const d = decide(replacement(s, 4, "1"));
    assert.equal(d.kind, "join", d.reason);
    assert.match(d.reason, /same launch template lt-0abc version 1 as voter/);
  });

  const refusals = [
    ["a skipped minor", "3.7.0", "skipped-minor", /skips a minor/],
    ["a minor downgrade", "3.4.23", "minor-downgrade", /below the cluster version 3\.5/],
    ["another major", "4.0.0", "different-major", /another major version/],
  ] as const;
  for (const [what, version, refusal, reason] of refusals) {
    test(`${what} (${version}) is refused with the reason, and the node is told so`, () => {
      const s = replacement(rolling(3), 4, "2", version);
      const d = decide(s);
      assert.equal(d.kind, "version-refused");
      assert.equal(d.kind === "version-refused" && d.refusal, refusal);
      assert.match(d.reason, reason);
      const config = nodeConfig(s, instanceId(4), d, s.members, "/var/lib/etcd", etcdStorageSettings(20));
      assert.equal(config.role, "refused");
      assert.equal(config.etcd, undefined);
      assert.match(config.reason, reason);
    });
  }

  test("the recorded cluster version counts: 3.5 joining a cluster recorded at 3.6 is a downgrade", () => {
    const s = rolling(3, "3.6.5");
    const cluster = s.ledger.cluster;
    assert.ok(cluster !== undefined);
    const recorded = { ...s, ledger: { ...s.ledger, cluster: { ...cluster, etcdVersion: "3.6" } } };
    const d = decide(replacement(recorded, 4, "2", "3.5.33"));
    assert.equal(d.kind === "version-refused" && d.refusal, "minor-downgrade");
  });

  test("one minor up once every member runs the previous minor and its prerequisite", () => {
    assert.equal(decide(replacement(rolling(3, "3.5.32"), 4, "2", "3.6.5")).kind, "join");
    const d = decide(replacement(rolling(3, "3.5.21"), 4, "2", "3.6.5"));
    assert.equal(d.kind === "version-refused" && d.refusal, "below-step-prerequisite");
  });

  test("3.4 to 3.5 is refused: etcd authentication is on once the cluster runs", () => {
    const d = decide(replacement(rolling(3, "3.4.23"), 4, "2", "3.5.21"));
    assert.equal(d.kind === "version-refused" && d.refusal, "auth-rolling-upgrade");
  });

  test("a member's version comes from its node's report, else from its status answer", () => {
    const s = rolling(3);
    const unreported = {
      ...s,
      members: s.members.map((m) => ({ ...m, version: "3.4.23" })),
      ledger: { ...s.ledger, nodes: s.ledger.nodes.map((r) => ({ ...r, etcdVersion: undefined })) },
    };
    const d = decide(replacement(unreported, 4, "2", "3.6.5"));
    assert.equal(d.kind === "version-refused" && d.refusal, "skipped-minor");
  });

  test("a minor step waits while a member has reported no version (no status answer, no report)", () => {
    const d = decide(replacement(withoutReport(rolling(3, "3.5.32"), 2), 4, "2", "3.6.5"));
    assert.equal(d.kind, "wait");
    assert.match(d.reason, /did not report its version/);
  });
});

describe("the cluster version the ledger records", () => {
  const recordedAt = (s: Snapshot, etcdVersion: string | undefined): Snapshot => {
    const cluster = s.ledger.cluster;
    assert.ok(cluster !== undefined);
    return { ...s, ledger: { ...s.ledger, cluster: { ...cluster, etcdVersion } } };
  };
  const update = (s: Snapshot) => clusterVersionUpdate(new ClusterView(s));

  test("first record: the lowest member's minor once every member reported", () => {
    const u = update(rolling(3, "3.5.21"));
    assert.deepEqual(u?.version, { major: 3, minor: 5 });
    assert.equal(u?.moved, true);
  });

  test("nothing while the cluster is not running", () => {
    const s = rolling(3);
    const cluster = s.ledger.cluster;
    assert.ok(cluster !== undefined);
    assert.equal(
      update({ ...s, ledger: { ...s.ledger, cluster: { ...cluster, state: "forming" } } }),
      undefined,
    );
  });

  test("moves up once every member runs the next minor, never down", () => {
    assert.equal(update(recordedAt(rolling(3, "3.6.5"), "3.5"))?.moved, true);
    const down = update(recordedAt(rolling(3, "3.5.33"), "3.6"));
    assert.equal(down?.moved, false);
    assert.deepEqual(down?.version, { major: 3, minor: 6 });
    assert.match(down?.reason ?? "", /never lowers its cluster version/);
  });

  test("stays while a member has reported no version", () => {
    const u = update(recordedAt(withoutReport(rolling(3, "3.6.5"), 2), "3.5"));
    assert.equal(u?.moved, false);
    assert.match(u?.reason ?? "", /did not report its version/);
  });
});
