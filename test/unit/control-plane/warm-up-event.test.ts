// The node API tells the launch rule's warm-up input from a function URL request.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isWarmUp, NODE_API_WARM_UP_INPUT } from "../../../lambdas/events/warm-up-event";

test("the warm-up input is a warm-up; a function URL request, a lifecycle event or anything else is not", () => {
  assert.equal(isWarmUp(JSON.parse(JSON.stringify(NODE_API_WARM_UP_INPUT))), true);
  for (const other of [
    { version: "2.0", rawPath: "/v1/nodes/i-0123456789abcdef0/config", requestContext: {} },
    { "detail-type": "EC2 Instance-launch Lifecycle Action", detail: {} },
    { "etcd-asg": "scheduled-defragmentation" },
    null,
    "warm-up",
  ]) {
    assert.equal(isWarmUp(other), false, JSON.stringify(other));
  }
});
