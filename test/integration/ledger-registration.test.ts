// The ledger's node records against a real DynamoDB-compatible server: registration order under
// concurrency, idempotent registration, phase changes and the state the engine reads back.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  NodePhaseConflictError,
  RegistrationConflictError,
  UnknownNodeError,
} from "../../lambdas/adapters/ledger/errors";
import type { Ledger } from "../../lambdas/adapters/ledger/ledger";
import { useLocalLedgers } from "../helpers/ledger";

const NOW = 1_700_000_000_000;

describe("ledger node records", () => {
  const ledgers = useLocalLedgers();
  const freshLedger = (): Ledger => ledgers.fresh();

  test("gives 10 concurrent registrations the numbers 1 to 10, each once", async () => {
    const ledger = freshLedger();
    const ids = Array.from({ length: 10 }, (_, i) => `i-${String(i).padStart(17, "0")}`);
    const records = await Promise.all(ids.map((id, i) => ledger.registerNode(id, `127.0.1.${i + 1}`, NOW)));
    assert.deepEqual(
      records.map((r) => r.registration).sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    const state = await ledger.loadState();
    assert.deepEqual(
      state.nodes.map((n) => n.registration),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
  });

  test("returns the first record when an instance registers again", async () => {
    const ledger = freshLedger();
    const first = await ledger.registerNode("i-a", "127.0.1.1", NOW);
    await ledger.registerNode("i-b", "127.0.1.2", NOW);
    const again = await ledger.registerNode("i-a", "127.0.1.1", NOW + 5000);
    assert.deepEqual(again, first);
    assert.equal(first.registration, 1);
    assert.equal((await ledger.registerNode("i-c", "127.0.1.3", NOW)).registration, 3);
  });

  test("takes a read of the record the caller sent earlier: a current one, a stale one, a failed one", async () => {
    const ledger = freshLedger();
    const first = await ledger.registerNode("i-a", "127.0.1.1", NOW);
    // Current: the record as read, with no second read.
    assert.deepEqual(await ledger.registerNode("i-a", "127.0.1.1", NOW, ledger.getNode("i-a")), first);
    // Stale (read before another registration wrote it): the conditional write finds the first record.
    assert.deepEqual(await ledger.registerNode("i-a", "127.0.1.1", NOW, Promise.resolve(undefined)), first);
    // Failed (the ledger did not answer then): read again.
    const failed = Promise.reject(new Error("ledger unavailable at the earlier read"));
    assert.deepEqual(await ledger.registerNode("i-a", "127.0.1.1", NOW, failed), first);
    assert.equal((await ledger.loadState()).nodes.length, 1);
  });

  test("records the etcd version a registered node reports; refuses an unknown node or a malformed version", async () => {
    const ledger = freshLedger();
    await ledger.registerNode("i-a", "127.0.1.1", NOW);
    await ledger.recordNodeVersion("i-a", "3.5.21");
    assert.equal((await ledger.getNode("i-a"))?.etcdVersion, "3.5.21");
    assert.equal((await ledger.loadState()).nodes[0]?.etcdVersion, "3.5.21");
    await assert.rejects(ledger.recordNodeVersion("i-b", "3.5.21"), UnknownNodeError);
    await assert.rejects(
      ledger.recordNodeVersion("i-a", "3.5"),
      /etcd version.*"3.5" is not MAJOR.MINOR.PATCH/,
    );
  });

  test("registers an instance once when the same registration arrives concurrently", async () => {
    const ledger = freshLedger();
    const records = await Promise.all(
      Array.from({ length: 5 }, () => ledger.registerNode("i-a", "127.0.1.1", NOW)),
    );
    assert.equal(new Set(records.map((r) => r.registration)).size, 1);
    assert.equal((await ledger.loadState()).nodes.length, 1);
  });

  test("refuses a second registration that names another private IP", async () => {
    const ledger = freshLedger();
    await ledger.registerNode("i-a", "127.0.1.1", NOW);
    await assert.rejects(ledger.registerNode("i-a", "127.0.1.9", NOW), RegistrationConflictError);
  });

  test("changes a node's phase, member ID and configuration and reads them back", async () => {
    const ledger = freshLedger();
    await ledger.registerNode("i-a", "127.0.1.1", NOW);
    const config = {
      initialClusterState: "existing",
      flags: ["--name=i-a"],
      port: 2379,
      learner: true,
      extra: null,
    };
    const joined = await ledger.setNodePhase(
      "i-a",
      { phase: "joining", memberId: "1234567890123456789", config },
      NOW + 10,
    );
    assert.equal(joined.phase, "joining");
    assert.equal(joined.phaseSince, NOW + 10);
    assert.equal(joined.memberId, "1234567890123456789");
    assert.deepEqual(joined.config, config);
    assert.deepEqual(await ledger.getNode("i-a"), joined);
  });

  test("keeps the phase time when only the configuration is published again", async () => {
    const ledger = freshLedger();
    await ledger.registerNode("i-a", "127.0.1.1", NOW);
    await ledger.setNodePhase("i-a", { phase: "joining", config: { v: 1 } }, NOW + 10);
    const republished = await ledger.setNodePhase(
      "i-a",
      { phase: "joining", config: { v: 2 } },
      NOW + 99,
      "joining",
    );
    assert.equal(republished.phaseSince, NOW + 10);
    assert.deepEqual(republished.config, { v: 2 });
  });

  test("writes on a record the caller read, and reads it again when it has changed since", async () => {
    const ledger = freshLedger();
    const registered = await ledger.registerNode("i-a", "127.0.1.1", NOW);
    const fresh = await ledger.setNodePhase("i-a", { phase: "joining" }, NOW + 10, undefined, registered);
    assert.equal(fresh.phaseSince, NOW + 10);
    // `registered` is stale now: the write on it fails its condition, and the retry reads the
    // record, so the phase time of the unchanged phase is kept.
    const again = await ledger.setNodePhase(
      "i-a",
      { phase: "joining", config: { v: 1 } },
      NOW + 99,
      undefined,
      registered,
    );
    assert.equal(again.phaseSince, NOW + 10);
    assert.deepEqual(again.config, { v: 1 });
    // A stale record that fails the expected phase is read again, not refused on sight.
    const stale = { ...again, phase: "registered" as const };
    const member = await ledger.setNodePhase("i-a", { phase: "member" }, NOW + 200, "joining", stale);
    assert.equal(member.phase, "member");
  });

  test("refuses a phase change from another phase than the expected one", async () => {
    const ledger = freshLedger();
    await ledger.registerNode("i-a", "127.0.1.1", NOW);
    await ledger.setNodePhase("i-a", { phase: "joining" }, NOW + 1, "registered");
    await assert.rejects(ledger.setNodePhase("i-a", { phase: "member" }, NOW + 2, "registered"), (err) => {
      assert.ok(err instanceof NodePhaseConflictError);
      assert.equal(err.actual, "joining");
      assert.equal(err.retryable, false);
      return true;
    });
    assert.equal((await ledger.getNode("i-a"))?.phase, "joining");
  });

  test("lets exactly one of two concurrent phase changes from the same phase win", async () => {
    const ledger = freshLedger();
    await ledger.registerNode("i-a", "127.0.1.1", NOW);
    const results = await Promise.allSettled([
      ledger.setNodePhase("i-a", { phase: "bootstrapping" }, NOW + 1, "registered"),
      ledger.setNodePhase("i-a", { phase: "joining" }, NOW + 1, "registered"),
    ]);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    const rejected = results.find((r) => r.status === "rejected");
    assert.ok(rejected?.reason instanceof NodePhaseConflictError);
  });

  test("refuses a phase change for an instance that never registered", async () => {
    const ledger = freshLedger();
    await assert.rejects(ledger.setNodePhase("i-nobody", { phase: "member" }, NOW), UnknownNodeError);
    assert.equal(await ledger.getNode("i-nobody"), undefined);
  });

  test("deletes a registered node, and refuses to delete one that is joining etcd", async () => {
    const ledger = freshLedger();
    await ledger.registerNode("i-a", "127.0.1.1", NOW);
    await ledger.registerNode("i-b", "127.0.1.2", NOW);
    await ledger.setNodePhase("i-b", { phase: "joining" }, NOW);
    assert.equal(await ledger.deleteNode("i-a"), true);
    assert.equal(await ledger.deleteNode("i-a"), false);
    await assert.rejects(ledger.deleteNode("i-b"), NodePhaseConflictError);
    assert.deepEqual(
      (await ledger.loadState()).nodes.map((n) => n.instanceId),
      ["i-b"],
    );
  });

  test("loads cluster, nodes in registration order and lock as they were written", async () => {
    const ledger = freshLedger();
    assert.deepEqual(await ledger.loadState(), {
      cluster: undefined,
      nodes: [],
      lock: undefined,
      lockVersion: 0,
    });
    await ledger.registerNode("i-z", "127.0.1.1", NOW);
    await ledger.registerNode("i-a", "127.0.1.2", NOW + 1);
    const cluster = {
      token: "token-1",
      generation: 1,
      size: 1,
      initialMembers: [{ instanceId: "i-z", peerUrl: "http://127.0.1.1:2380" }],
      state: "forming" as const,
    };
    await ledger.fixCluster(cluster);
    const lock = await ledger.acquireLock("launch:i-a", 30_000, NOW);
    const state = await ledger.loadState();
    assert.deepEqual(state.cluster, cluster);
    assert.deepEqual(state.lock, lock);
    assert.deepEqual(state.nodes, [
      {
        instanceId: "i-z",
        privateIp: "127.0.1.1",
        registration: 1,
        phase: "registered",
        phaseSince: NOW,
        memberId: undefined,
        config: undefined,
      },
      {
        instanceId: "i-a",
        privateIp: "127.0.1.2",
        registration: 2,
        phase: "registered",
        phaseSince: NOW + 1,
        memberId: undefined,
        config: undefined,
      },
    ]);
  });

  test("keeps clusters that share a table apart", async () => {
    const one = freshLedger();
    const two = freshLedger();
    await one.registerNode("i-a", "127.0.1.1", NOW);
    assert.equal((await two.registerNode("i-b", "127.0.2.1", NOW)).registration, 1);
    assert.deepEqual(
      (await two.loadState()).nodes.map((n) => n.instanceId),
      ["i-b"],
    );
  });
});
