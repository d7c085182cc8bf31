// The client name's configuration: HOSTED_ZONE_ID with CLIENT_DNS_NAME, either form of the zone ID,
// and the refusals that name what was wrong.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, loadConfig } from "../../../lambdas/config";

const ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
const BASE = {
  CLUSTER_NAME: "c",
  ASG_NAME: "g",
  LEDGER_TABLE: "t",
  LAUNCH_HOOK_NAME: "l",
  TERMINATE_HOOK_NAME: "x",
  CLUSTER_SIZE: "3",
  JOIN_STRATEGY: "replace",
  INSTANCE_ROLE_ARN: "arn:aws:iam::123456789012:role/etcd-node",
  PEER_CA_KEY_ARN: ARN,
  CLIENT_CA_KEY_ARN: ARN,
};

describe("config: the client name", () => {
  test("keeps no name without HOSTED_ZONE_ID", () => {
    assert.equal(loadConfig({ ...BASE, CLIENT_DNS_NAME: "etcd.cluster.internal" }).clientEndpoint, undefined);
  });

  test("takes the zone ID with or without /hostedzone/", () => {
    for (const id of ["Z0123456789ABCDEFGHIJ", "/hostedzone/Z0123456789ABCDEFGHIJ"]) {
      assert.deepEqual(
        loadConfig({ ...BASE, CLIENT_DNS_NAME: "etcd.cluster.internal", HOSTED_ZONE_ID: id }).clientEndpoint,
        { hostedZoneId: "Z0123456789ABCDEFGHIJ", name: "etcd.cluster.internal" },
      );
    }
  });

  test("refuses a zone without a name, and a malformed zone ID, naming the variable", () => {
    assert.throws(() => loadConfig({ ...BASE, HOSTED_ZONE_ID: "Z0123456789ABCDEFGHIJ" }), {
      name: ConfigError.name,
      message: /CLIENT_DNS_NAME .*required with HOSTED_ZONE_ID/,
    });
    assert.throws(() => loadConfig({ ...BASE, CLIENT_DNS_NAME: "etcd.x", HOSTED_ZONE_ID: "zone-1" }), {
      message: /HOSTED_ZONE_ID/,
    });
  });
});
