// The durability settings read from the functions' environment: the defaults (every 30 min, hourly
// for 7 days and daily for 90, a 5 min loss threshold, automatic recovery), the values a stack sets,
// and a clear error naming the variable that is wrong.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, loadConfig } from "../../../lambdas/config";
import { DEFAULT_RETENTION } from "../../../lambdas/domain/snapshot-retention";
import { REQUIRED_ENV } from "../../helpers/function-env";

const BASE = REQUIRED_ENV;

describe("durability configuration", () => {
  test("defaults", () => {
    const { durability } = loadConfig(BASE);
    assert.deepEqual(
      [durability.bucket, durability.intervalMs, durability.quorumLossThresholdMs, durability.mode],
      [undefined, 30 * 60_000, 5 * 60_000, "automatic"],
    );
    assert.deepEqual(durability.retention, DEFAULT_RETENTION);
    assert.equal(durability.etcdVersion, undefined);
  });

  test("what a stack sets", () => {
    const { durability } = loadConfig({
      ...BASE,
      SNAPSHOT_BUCKET: "prod-snapshots",
      SNAPSHOT_INTERVAL_SECONDS: "600",
      SNAPSHOT_RETENTION: "600:86400",
      QUORUM_LOSS_THRESHOLD_SECONDS: "120",
      DISASTER_RECOVERY: "manual",
      ETCD_VERSION: "3.5.17",
    });
    assert.equal(durability.bucket, "prod-snapshots");
    assert.equal(durability.intervalMs, 600_000);
    assert.deepEqual(durability.retention, [{ everyMs: 600_000, forMs: 86_400_000 }]);
    assert.equal(durability.quorumLossThresholdMs, 120_000);
    assert.equal(durability.mode, "manual");
    assert.equal(durability.etcdVersion?.text, "3.5.17");
  });

  for (const [name, value] of [
    ["SNAPSHOT_RETENTION", "hourly"],
    ["DISASTER_RECOVERY", "sometimes"],
    ["ETCD_VERSION", "v3"],
    ["SNAPSHOT_BUCKET", "Not_A_Bucket"],
  ] as const) {
    test(`${name}=${value} is refused by name`, () => {
      assert.throws(
        () => loadConfig({ ...BASE, [name]: value }),
        (e: Error) => {
          assert.ok(e instanceof ConfigError, e.message);
          assert.match(e.message, new RegExp(name));
          return true;
        },
      );
    });
  }
});
