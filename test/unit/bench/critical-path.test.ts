import assert from "node:assert/strict";
import { test } from "node:test";
import { breakdown, lastReady } from "../../../bench/critical-path";
import type { InvocationRecord } from "../../../local/simulator/lambda-function";
import { nodeApi } from "./node-api-record";

const ID = "i-0123456789abcdef0";

const launch: InvocationRecord = {
  fn: "launch-hook",
  event: { "detail-type": "EC2 Instance-launch Lifecycle Action", detail: { EC2InstanceId: ID } },
  invokedAt: 300,
  startedAt: 300,
  endedAt: 800,
  coldStartMs: 0,
};

test("the phases of one instance follow its node-API requests from its user data start", () => {
  const records = [
    launch,
    { ...nodeApi(ID, "/config", 1100, 1300, 150), frontMs: 4 },
    nodeApi(ID, "/certificates", 1300, 1400),
    { ...nodeApi("i-0other", "/ready", 1000, 5000), frontMs: 90 },
    { ...nodeApi(ID, "/ready", 2000, 2300), frontMs: 3 },
    nodeApi(ID, "/ready", 2400, 2600),
  ];
  assert.deepEqual(breakdown(records, ID, 1000, 2700), {
    "boot script to its first node-API request": 100,
    "node-API requests before etcd (config with certificates)": 300,
    "etcd start and first healthy answer": 600,
    "ready report (promote, complete; 2 requests)": 600,
    "InService and seen converged": 100,
    "of which simulator: cold starts": 150,
    "of which simulator: waiting for a container (serial queue, another's cold start)": 0,
    "of which simulator: function URL front (body, SigV4 check, IAM gate)": 7,
    "launch hook ended (off the clock when < 0)": -200,
  });
});

test("the last instance to converge is the one whose ready report ended last", () => {
  const records = [
    nodeApi("i-0a", "/ready", 0, 900),
    nodeApi("i-0b", "/ready", 0, 500),
    nodeApi("i-0c", "/ready", 0, 999),
  ];
  assert.equal(lastReady(records, ["i-0a", "i-0b"]), "i-0a");
  assert.equal(lastReady(records, ["i-0d"]), undefined);
});
