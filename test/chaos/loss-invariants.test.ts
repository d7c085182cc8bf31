// The majority-lost invariants flag what they exist for: a generation served under two cluster IDs,
// and a write acknowledged up to the last snapshot before the loss that is not read back. A write
// after that snapshot that recovery did not bring back is counted as lost after the snapshot, not a
// violation; any other acknowledged write missing stays one.
import assert from "node:assert/strict";
import { test } from "node:test";
import { generationsWithTwoClusterIds, judgeReadBack } from "../../chaos/loss-invariants";

test("one cluster ID per generation: a new ID under a new generation is fine, two under one generation are flagged", () => {
  const fine = new Map([
    [1, new Map([["111", "https://127.0.1.10:2379"]])],
    [2, new Map([["222", "https://127.0.1.11:2379"]])],
  ]);
  assert.deepEqual(generationsWithTwoClusterIds(fine), []);
  const split = new Map([
    [1, new Map([["111", "https://127.0.1.10:2379"]])],
    [
      2,
      new Map([
        ["222", "https://127.0.1.11:2379"],
        ["333", "https://127.0.1.12:2379"],
      ]),
    ],
  ]);
  const flagged = generationsWithTwoClusterIds(split);
  assert.equal(flagged.length, 1);
  assert.match(flagged[0] ?? "", /^generation 2 served under 2 cluster IDs: 222 .*333 /);
});

const WRITES = {
  acknowledged: new Map([
    ["k/0", "a"],
    ["k/1", "b"],
    ["k/2", "c"],
    ["k/3", "d"],
  ]),
  preSnapshot: new Set(["k/0", "k/1"]),
  atRisk: new Set(["k/2"]),
};

test("every write read back as written: all verified, nothing lost", () => {
  assert.deepEqual(judgeReadBack(WRITES, { "k/0": "a", "k/1": "b", "k/2": "c", "k/3": "d" }), {
    verified: 4,
    preSnapshotMissing: [],
    lostAfterSnapshot: [],
    missing: [],
  });
});

test("a write up to the snapshot missing, or changed, is flagged; one after it is counted as lost after the snapshot", () => {
  assert.deepEqual(judgeReadBack(WRITES, { "k/0": "a", "k/1": "changed", "k/3": "d" }), {
    verified: 2,
    preSnapshotMissing: ["k/1"],
    lostAfterSnapshot: ["k/2"],
    missing: [],
  });
});

test("an acknowledged write neither before the loss's snapshot nor at risk (after the recovery, or in a run without a loss) stays strict", () => {
  const noLoss = { ...WRITES, preSnapshot: new Set<string>(), atRisk: new Set<string>() };
  assert.deepEqual(judgeReadBack(noLoss, { "k/0": "a" }).missing, ["k/1", "k/2", "k/3"]);
  assert.deepEqual(judgeReadBack(WRITES, { "k/0": "a", "k/1": "b", "k/2": "c" }).missing, ["k/3"]);
});
