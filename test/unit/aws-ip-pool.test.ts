// The emulator's private IP pool: lowest free address first, reuse after release, clear errors.
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidIpRangeError, IpPool } from "../../local/aws/ip-pool";

test("hands out the lowest free address and reuses released ones", () => {
  const pool = new IpPool({ first: "127.0.1.254", last: "127.0.2.1" });
  assert.deepEqual(
    [pool.allocate(), pool.allocate(), pool.allocate()],
    ["127.0.1.254", "127.0.1.255", "127.0.2.0"],
  );
  pool.release("127.0.1.255");
  assert.equal(pool.allocate(), "127.0.1.255");
  assert.equal(pool.allocate(), "127.0.2.1");
  assert.equal(pool.allocate(), undefined, "exhausted");
});

test("refuses addresses outside 127.0.x.y and reversed ranges, naming the value", () => {
  assert.throws(() => new IpPool({ first: "10.0.0.1", last: "127.0.0.9" }), {
    name: "InvalidIpRangeError",
    message: 'first address of the IP pool must be 127.0.<x>.<y>, got "10.0.0.1"',
  });
  assert.throws(() => new IpPool({ first: "127.0.0.9", last: "127.0.0.1" }), InvalidIpRangeError);
});
