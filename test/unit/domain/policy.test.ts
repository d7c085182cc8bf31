import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidPolicyError, validatePolicy } from "../../../lambdas/domain/policy";
import { faultTolerance, quorum } from "../../../lambdas/domain/quorum";

describe("quorum", () => {
  test("is a strict majority of the voters", () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(quorum), [1, 2, 2, 3, 3, 4, 4]);
  });

  test("an odd cluster tolerates as many failures as the next even one", () => {
    assert.deepEqual([3, 4, 5, 6, 7].map(faultTolerance), [1, 1, 2, 2, 3]);
  });
});

describe("policy validation", () => {
  test("accepts 3, 5 and 7 with each strategy and fills the defaults", () => {
    const p = validatePolicy({ clusterSize: 5, strategy: "prune" });
    assert.deepEqual(p, {
      clusterSize: 5,
      strategy: "prune",
      peerScheme: "http",
      peerPort: 2380,
      clientPort: 2379,
      learnerReadyTimeoutMs: 600_000,
    });
  });

  test("rejects an even cluster size, naming the value and the allowed ones", () => {
    assert.throws(() => validatePolicy({ clusterSize: 4, strategy: "add" }), {
      name: "InvalidPolicyError",
      message: "cluster size must be one of 3, 5, 7; received 4",
    });
  });

  test("rejects a size given as text", () => {
    assert.throws(() => validatePolicy({ clusterSize: "3", strategy: "add" }), /received "3"/);
  });

  test("rejects an unknown join strategy", () => {
    assert.throws(
      () => validatePolicy({ clusterSize: 3, strategy: "dumb" }),
      /join strategy must be one of prepare, add, replace, prune; received "dumb"/,
    );
  });

  test("rejects a port out of range", () => {
    assert.throws(
      () => validatePolicy({ clusterSize: 3, strategy: "add", peerPort: 70000 }),
      InvalidPolicyError,
    );
  });

  test("allowed sizes can be widened on purpose", () => {
    assert.equal(validatePolicy({ clusterSize: 1, strategy: "add" }, [1, 3]).clusterSize, 1);
  });
});
