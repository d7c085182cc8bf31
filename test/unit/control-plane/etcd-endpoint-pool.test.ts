// The etcd client pool: a client handed back is handed out again only moments later, never after an
// idle spell (a frozen container) or past its age, and never closed while an adapter still uses it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { EtcdEndpointPool } from "../../../lambdas/adapters/etcd/endpoint-pool";
import { InvalidEtcdInputError } from "../../../lambdas/adapters/etcd/errors";
import { EtcdMembership, type EtcdMembershipOptions } from "../../../lambdas/adapters/etcd/membership";

const URL_A = "http://127.0.0.1:2379";
const URL_B = "http://127.0.0.2:2379";

function poolWithClock() {
  const clock = { now: 1_800_000_000_000 };
  return { clock, pool: new EtcdEndpointPool(undefined, () => clock.now) };
}

test("a client handed back is handed out again for its URL and call timeout moments later", () => {
  const { clock, pool } = poolWithClock();
  const first = pool.acquire(URL_A, 3000);
  pool.release(first);
  clock.now += 900;
  assert.equal(pool.acquire(URL_A, 3000), first);
  assert.notEqual(pool.acquire(URL_B, 3000), first, "another URL");
  assert.notEqual(pool.acquire(URL_A, 1000), first, "another call timeout");
});

test("one idle for over a second, or 30 s old, is not handed out again", () => {
  const { clock, pool } = poolWithClock();
  const first = pool.acquire(URL_A, 3000);
  pool.release(first);
  clock.now += 1001;
  const second = pool.acquire(URL_A, 3000);
  assert.notEqual(second, first, "idle too long: a frozen container's connection");
  for (let i = 0; i < 40; i++) {
    pool.release(second);
    clock.now += 800;
    if (pool.acquire(URL_A, 3000) !== second) {
      assert.ok(i * 800 >= 29_000, `replaced after ${i * 800} ms`);
      return;
    }
  }
  assert.fail("a client was handed out for over 30 s");
});

test("two adapters share a client; it goes back to the pool only when both are done", () => {
  const { pool } = poolWithClock();
  const shared = pool.acquire(URL_A, 3000);
  assert.equal(pool.acquire(URL_A, 3000), shared, "in use: shared");
  pool.release(shared);
  assert.equal(pool.acquire(URL_A, 3000), shared, "still in use by the other");
  pool.release(shared);
  pool.release(shared);
  assert.equal(pool.acquire(URL_A, 3000), shared, "handed back, then out again");
});

test("refuses an https URL without a client certificate, as an adapter of its own would", () => {
  const { pool } = poolWithClock();
  assert.throws(() => pool.acquire("https://127.0.0.1:2379", 3000), /client certificate is needed/);
});

test("an adapter given both a certificate and a pool refuses, naming the certificate", () => {
  const { pool } = poolWithClock();
  const options = { endpoints: [URL_A], pool, tls: () => Promise.reject(new Error("never read")) };
  assert.throws(
    () => new EtcdMembership(options as unknown as EtcdMembershipOptions),
    (error: Error) => error instanceof InvalidEtcdInputError && /invalid tls: .*not both/.test(error.message),
  );
});
