// The restore command's decision: a checked snapshot of this cluster in the bucket, over a cluster
// the ledger holds, is recorded as a request over the current generation; anything else is refused
// with a reason that names the key.
import assert from "node:assert/strict";
import { test } from "node:test";
import { restoreSourceOf, type SnapshotRecord } from "../../../lambdas/domain/durability";
import { type OperatorRestoreInput, operatorRestore } from "../../../lambdas/domain/operator-restore";
import { cluster, instanceId, NOW } from "../../helpers/snapshots";

const G1 = { ...cluster([1, 2, 3]), generation: 4 };
const KEY = `c/${G1.token}/00000000000000000042-20261204T101500.000Z.db`;
const SNAPSHOT: SnapshotRecord = {
  key: KEY,
  token: G1.token,
  generation: 4,
  revision: 42,
  size: 24_608,
  sha256: "ab".repeat(32),
  member: { instanceId: instanceId(2), memberId: "1002" },
  takenAt: NOW - 60_000,
};

const input = (overrides: Partial<OperatorRestoreInput>): OperatorRestoreInput => ({
  key: KEY,
  clusterName: "c",
  bucket: "snapshots",
  cluster: G1,
  lookup: { kind: "found", snapshot: SNAPSHOT },
  now: NOW,
  ...overrides,
});

test("a checked snapshot of this cluster is requested over the current generation", () => {
  const verdict = operatorRestore(input({}));
  assert.equal(verdict.kind, "record");
  if (verdict.kind !== "record") return;
  assert.deepEqual(verdict.request, { generation: 4, source: restoreSourceOf(SNAPSHOT), requestedAt: NOW });
  assert.match(
    verdict.reason,
    /opens generation 5 from .* \(revision 42\), replacing every instance of generation 4/,
  );
});

test("a key that is not in the bucket, not this cluster's, or never checked is refused, naming it", () => {
  const cases: [OperatorRestoreInput["lookup"], RegExp][] = [
    [
      { kind: "missing" },
      /^snapshot "c\/.*" is not in bucket snapshots: `etcd-asg snapshots` lists cluster c's$/,
    ],
    [
      { kind: "foreign", why: "it is under cluster d's prefix" },
      /^snapshot "c\/.*" is not one of cluster c's: it is under cluster d's prefix$/,
    ],
    [{ kind: "unchecked" }, /^snapshot "c\/.*" never passed its checks/],
  ];
  for (const [lookup, reason] of cases) {
    const verdict = operatorRestore(input({ lookup }));
    assert.equal(verdict.kind, "refuse", lookup.kind);
    if (verdict.kind === "refuse") assert.match(verdict.reason, reason);
  }
});

test("with no cluster in the ledger there is no generation to restore over", () => {
  const verdict = operatorRestore(input({ cluster: undefined }));
  assert.equal(verdict.kind, "refuse");
  if (verdict.kind === "refuse") assert.match(verdict.reason, /the ledger holds no cluster of c/);
});
