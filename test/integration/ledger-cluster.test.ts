// The ledger's cluster record against a real DynamoDB-compatible server: one initial member set per
// generation however many launch handlers race to fix it, and etcd's cluster version on its generation.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ClusterGenerationMismatchError,
  InvalidLedgerInputError,
} from "../../lambdas/adapters/ledger/errors";
import type { Ledger } from "../../lambdas/adapters/ledger/ledger";
import type { ClusterRecord } from "../../lambdas/domain/snapshot";
import { useLocalLedgers } from "../helpers/ledger";

function proposal(token: string, generation = 1, instanceIds = ["i-a", "i-b", "i-c"]): ClusterRecord {
  return {
    token,
    generation,
    size: instanceIds.length,
    initialMembers: instanceIds.map((instanceId, i) => ({
      instanceId,
      peerUrl: `http://127.0.1.${i + 1}:2380`,
    })),
    state: "forming",
  };
}

describe("ledger cluster record", () => {
  const ledgers = useLocalLedgers();
  const freshLedger = (): Ledger => ledgers.fresh();

  test("lets exactly one of 5 concurrent proposers fix the initial cluster, and all see its record", async () => {
    const ledger = freshLedger();
    const proposals = Array.from({ length: 5 }, (_, i) =>
      proposal(`token-${i}`, 1, [`i-${i}a`, `i-${i}b`, `i-${i}c`]),
    );
    const results = await Promise.all(proposals.map((p) => ledger.fixCluster(p)));
    const winners = results.filter((r) => r.won);
    assert.equal(winners.length, 1);
    const fixed = winners[0]?.cluster;
    assert.ok(fixed !== undefined);
    assert.ok(proposals.some((p) => p.token === fixed.token));
    for (const result of results) assert.deepEqual(result.cluster, fixed);
    assert.deepEqual((await ledger.loadState()).cluster, fixed);
  });

  test("does not fix a generation again once it is fixed", async () => {
    const ledger = freshLedger();
    await ledger.fixCluster(proposal("first"));
    const late = await ledger.fixCluster(proposal("late"));
    assert.equal(late.won, false);
    assert.equal(late.cluster.token, "first");
  });

  test("fixes the next generation only over the previous one", async () => {
    const ledger = freshLedger();
    await assert.rejects(ledger.fixCluster(proposal("too-early", 2)), ClusterGenerationMismatchError);
    await ledger.fixCluster(proposal("one", 1));
    const two = await ledger.fixCluster(proposal("two", 2));
    assert.equal(two.won, true);
    const stale = await ledger.fixCluster(proposal("stale-two", 2));
    assert.deepEqual(stale, { won: false, cluster: two.cluster });
  });

  test("marks the cluster running, only for its own generation", async () => {
    const ledger = freshLedger();
    await assert.rejects(ledger.markClusterRunning(1), (err) => {
      assert.ok(err instanceof ClusterGenerationMismatchError);
      assert.equal(err.actual, undefined);
      return true;
    });
    await ledger.fixCluster(proposal("one"));
    assert.equal((await ledger.markClusterRunning(1)).state, "running");
    assert.equal((await ledger.markClusterRunning(1)).state, "running");
    await assert.rejects(ledger.markClusterRunning(2), ClusterGenerationMismatchError);
    assert.equal((await ledger.loadState()).cluster?.state, "running");
  });

  test("records etcd's cluster version on its own generation only, and refuses one that is not major.minor", async () => {
    const ledger = freshLedger();
    await ledger.fixCluster(proposal("one"));
    await ledger.markClusterRunning(1);
    await ledger.recordClusterVersion(1, "3.5");
    assert.equal((await ledger.loadState()).cluster?.etcdVersion, "3.5");
    await assert.rejects(ledger.recordClusterVersion(2, "3.6"), ClusterGenerationMismatchError);
    await assert.rejects(ledger.recordClusterVersion(1, "3.6.1"), /"3\.6\.1" is not MAJOR\.MINOR/);
    const after = (await ledger.loadState()).cluster;
    assert.equal(after?.etcdVersion, "3.5");
    assert.equal(after?.state, "running", "the rest of the record is untouched");
  });

  test("refuses a cluster record whose initial members name an instance twice", async () => {
    const ledger = freshLedger();
    await assert.rejects(ledger.fixCluster(proposal("dup", 1, ["i-a", "i-a"])), InvalidLedgerInputError);
    assert.equal((await ledger.loadState()).cluster, undefined);
  });
});
