// The membership lock against a real DynamoDB-compatible server: one holder at a time, takeover
// after expiry, and a version number that fences out a holder whose lease ran out.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LockHeldError, LockLostError } from "../../lambdas/adapters/ledger/errors";
import type { Ledger } from "../../lambdas/adapters/ledger/ledger";
import { useLocalLedgers } from "../helpers/ledger";

const NOW = 1_700_000_000_000;
const TTL = 30_000;

describe("ledger membership lock", () => {
  const ledgers = useLocalLedgers();
  const freshLedger = (): Ledger => ledgers.fresh();

  test("acquires a free lock with version 1 and shows it in the state", async () => {
    const ledger = freshLedger();
    const lock = await ledger.acquireLock("launch:i-a", TTL, NOW);
    assert.deepEqual(lock, { holder: "launch:i-a", expiresAt: NOW + TTL, version: 1 });
    assert.deepEqual((await ledger.loadState()).lock, lock);
  });

  test("refuses a second holder while the lease runs, naming the holder and expiry", async () => {
    const ledger = freshLedger();
    await ledger.acquireLock("launch:i-a", TTL, NOW);
    await assert.rejects(ledger.acquireLock("terminate:i-b", TTL, NOW + 1000), (err) => {
      assert.ok(err instanceof LockHeldError);
      assert.equal(err.holder, "launch:i-a");
      assert.equal(err.expiresAt, NOW + TTL);
      assert.equal(err.retryable, true);
      return true;
    });
  });

  test("gives the lock to exactly one of 5 concurrent acquirers", async () => {
    const ledger = freshLedger();
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => ledger.acquireLock(`reconcile:${i}`, TTL, NOW)),
    );
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    for (const r of results) if (r.status === "rejected") assert.ok(r.reason instanceof LockHeldError);
  });

  test("lets the holder acquire again, with a new version", async () => {
    const ledger = freshLedger();
    await ledger.acquireLock("launch:i-a", TTL, NOW);
    const again = await ledger.acquireLock("launch:i-a", TTL, NOW + 10);
    assert.equal(again.version, 2);
    assert.equal(again.expiresAt, NOW + 10 + TTL);
  });

  test("lets another holder take an expired lock and fences the old holder out", async () => {
    const ledger = freshLedger();
    const stale = await ledger.acquireLock("launch:i-a", TTL, NOW);
    const taken = await ledger.acquireLock("terminate:i-b", TTL, NOW + TTL);
    assert.equal(taken.version, stale.version + 1);
    await assert.rejects(ledger.renewLock(stale.holder, stale.version, TTL, NOW + TTL + 1), LockLostError);
    await assert.rejects(ledger.releaseLock(stale.holder, stale.version), LockLostError);
    assert.deepEqual((await ledger.loadState()).lock, taken);
  });

  test("renews the lease of the current holder and version", async () => {
    const ledger = freshLedger();
    const lock = await ledger.acquireLock("launch:i-a", TTL, NOW);
    const renewed = await ledger.renewLock(lock.holder, lock.version, TTL, NOW + 20_000);
    assert.deepEqual(renewed, { holder: lock.holder, version: lock.version, expiresAt: NOW + 20_000 + TTL });
    await assert.rejects(ledger.acquireLock("terminate:i-b", TTL, NOW + TTL + 1), LockHeldError);
  });

  test("frees the lock on release and keeps counting versions", async () => {
    const ledger = freshLedger();
    const lock = await ledger.acquireLock("launch:i-a", TTL, NOW);
    await ledger.releaseLock(lock.holder, lock.version);
    const released = await ledger.loadState();
    assert.equal(released.lock, undefined);
    assert.equal(released.lockVersion, lock.version);
    await assert.rejects(ledger.releaseLock(lock.holder, lock.version), LockLostError);
    const next = await ledger.acquireLock("terminate:i-b", TTL, NOW + 1);
    assert.equal(next.version, lock.version + 1);
  });
});
