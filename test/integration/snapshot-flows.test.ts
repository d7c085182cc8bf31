// The snapshot function's flows on a 3-member mutual-TLS etcd 3.4 formed through the control plane,
// with s3rver as the bucket: an on-demand snapshot is streamed from a member, recorded as the latest
// and listed; a scheduled one is skipped while the latest is younger than the interval; each run
// reports the latest snapshot's age (the SnapshotAge alarm's metric); a survivor
// already held by the latest snapshot is not copied again; a cluster without a bucket is refused by
// name.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { METRICS } from "../../lambdas/app/signals";
import { copySurvivor, listSnapshots, takeSnapshotIfDue } from "../../lambdas/app/snapshots";
import { ConfigError } from "../../lambdas/config";
import { type EmittedMetric, emittedMetrics } from "../helpers/control-plane";
import { useControlPlaneBucket } from "../helpers/control-plane-bucket";
import { formedCluster } from "../helpers/control-plane-flows";

const HOUR = 3_600_000;

describe("snapshot flows", () => {
  const bucket = useControlPlaneBucket("etcd-asg-flows");

  test("on demand: streamed, recorded, listed; the schedule then waits for the interval", async (t) => {
    const { bed, ids } = await formedCluster(t, {
      ...bucket(),
      SNAPSHOT_INTERVAL_SECONDS: String(HOUR / 1000),
    });
    await bed.etcdctl("put", "/flows/a", "1");
    const deadline = Date.now() + 60_000;

    const [taken, first] = await emittedMetrics(() =>
      takeSnapshotIfDue(bed.invocation(), bed.durability(), "on-demand", deadline),
    );
    assert.equal(taken.outcome, "taken", JSON.stringify(taken));
    if (taken.outcome !== "taken") return;
    const { snapshot } = taken;
    assert.ok(ids.includes(snapshot.member.instanceId));
    assert.equal(snapshot.token, (await bed.runtime.ledger.loadState()).cluster?.token);
    assert.deepEqual(await bed.durability().ledger.latestSnapshot(), snapshot);

    const listing = await listSnapshots(bed.invocation(), bed.durability());
    assert.equal(listing.latest?.key, snapshot.key);
    assert.deepEqual(
      listing.snapshots.map((s) => [s.key, s.revision, s.size]),
      [[snapshot.key, snapshot.revision, snapshot.size]],
    );
    assert.equal(listing.token, snapshot.token);

    const [scheduled, next] = await emittedMetrics(async () => {
      await sleep(1100);
      return takeSnapshotIfDue(bed.invocation(), bed.durability(), "schedule", deadline);
    });
    assert.equal(scheduled.outcome, "skipped");
    // The SnapshotAge alarm's metric: none before the first snapshot, 0 once one is recorded, and
    // the latest's age in seconds at every later run, in namespace EtcdAsg by ClusterName.
    const ages = (emitted: EmittedMetric[]) =>
      emitted
        .filter((m) => m.name === METRICS.snapshotAge)
        .map((m) => [m.namespace, m.dimensions.ClusterName, m.value]);
    const cluster = bed.runtime.config.clusterName;
    assert.deepEqual(ages(first), [["EtcdAsg", cluster, 0]]);
    const later = ages(next);
    assert.equal(later.length, 1);
    const age = Number(later[0]?.[2]);
    assert.ok(age >= 1 && age < 60, `age ${age} s`);

    const survivor = { instanceId: snapshot.member.instanceId, memberId: snapshot.member.memberId };
    const copy = await copySurvivor(
      bed.invocation(),
      bed.durability(),
      { ...survivor, revision: snapshot.revision },
      deadline,
    );
    assert.equal(copy.outcome, "skipped");
    assert.match(copy.reason, /already holds revision/);
  });

  test("without a bucket the snapshot function is refused by name", async (t) => {
    const { bed } = await formedCluster(t);
    await assert.rejects(listSnapshots(bed.invocation(), bed.durability()), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /SNAPSHOT_BUCKET is not set/);
      return true;
    });
  });
});
