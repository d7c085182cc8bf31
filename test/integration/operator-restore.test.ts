// The restore command (`etcd-asg restore --key KEY`, the snapshot function's restore operation) on a
// 3-member mutual-TLS etcd 3.4 formed through the control plane, with dynalite as the ledger and
// s3rver as the bucket: a snapshot taken on demand is recorded as the restore request over the
// current generation, which the recovery step reads; a key that is not in the bucket, another
// cluster's key, or not a snapshot key is refused naming the key, and the ledger is left as it was.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RestoreRefusedError, requestRestore } from "../../lambdas/app/operator-restore";
import { restoreSourceOf } from "../../lambdas/domain/durability";
import { useControlPlaneBucket } from "../helpers/control-plane-bucket";
import { formedCluster, snapshotNow } from "../helpers/control-plane-flows";

describe("the restore command", () => {
  const bucket = useControlPlaneBucket("etcd-asg-restore");

  test("records a snapshot of this cluster as the restore request, and refuses unknown keys unchanged", async (t) => {
    const { bed } = await formedCluster(t, bucket());
    await bed.etcdctl("put", "/restore/a", "1");
    const snapshot = await snapshotNow(bed);
    const ledger = bed.durability().ledger;
    const clusterName = bed.runtime.config.clusterName;

    const refusals: [string, RegExp][] = [
      [
        `${clusterName}/${snapshot.token}/00000000000000000001-20260101T000000.000Z.db`,
        /^restore refused: snapshot ".*\/00000000000000000001-20260101T000000\.000Z\.db" is not in bucket etcd-asg-restore: `etcd-asg snapshots` lists cluster /,
      ],
      [
        snapshot.key.replace(`${clusterName}/`, "another-cluster/"),
        /^restore refused: snapshot "another-cluster\/.*" is not one of cluster .*'s: it is under cluster another-cluster's prefix$/,
      ],
      ["latest.db", /^restore refused: snapshot "latest\.db" is not one of cluster .*'s: a snapshot key is/],
    ];
    for (const [key, message] of refusals) {
      await assert.rejects(requestRestore(bed.invocation(), bed.durability(), key), (e: Error) => {
        assert.ok(e instanceof RestoreRefusedError, String(e));
        assert.match(e.message, message);
        return true;
      });
    }
    assert.equal(await ledger.restoreRequest(), undefined, "a refused restore records nothing");

    const recorded = await requestRestore(bed.invocation(), bed.durability(), snapshot.key);
    assert.equal(recorded.outcome, "recorded");
    assert.equal(recorded.generation, 1);
    assert.match(recorded.reason, /opens generation 2 from .*replacing every instance of generation 1 first/);
    const request = await ledger.restoreRequest();
    assert.deepEqual(request, recorded.request);
    assert.deepEqual(request?.source, restoreSourceOf(snapshot));
    assert.equal(request?.generation, 1);
    // Recording is all it does: the cluster is the same generation until the recovery step acts.
    assert.equal((await bed.runtime.ledger.loadState()).cluster?.generation, 1);
  });
});
