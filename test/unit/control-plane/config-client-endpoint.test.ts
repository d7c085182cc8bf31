// The client name's configuration: HOSTED_ZONE_ID with CLIENT_DNS_NAME, either form of the zone ID,
// and the refusals that name what was wrong.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, loadConfig } from "../../../lambdas/config";
import { REQUIRED_ENV } from "../../helpers/function-env";

const BASE = REQUIRED_ENV;

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
