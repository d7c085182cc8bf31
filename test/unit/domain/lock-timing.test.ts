// The membership lock's timing: when a holder renews its lease before a change, and the terminate
// hook's heartbeat timeout that outlasts a reconcile pass's lock waits.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  LOCK_TTL_SECONDS,
  minTerminateHeartbeatSeconds,
  renewsBeforeChange,
} from "../../../lambdas/domain/lock-timing";

const TTL = LOCK_TTL_SECONDS * 1000;
const NOW = 1_800_000_000_000;

test("a lease just taken or renewed is not renewed before the change; one a quarter spent or more is", () => {
  assert.equal(renewsBeforeChange(NOW + TTL, NOW, TTL), false, "just taken");
  assert.equal(renewsBeforeChange(NOW + TTL - 14_999, NOW, TTL), false, "under a quarter spent");
  assert.equal(renewsBeforeChange(NOW + TTL - 15_000, NOW, TTL), true, "a quarter spent");
  assert.equal(renewsBeforeChange(NOW + 1000, NOW, TTL), true, "nearly expired");
  assert.equal(renewsBeforeChange(NOW - 1, NOW, TTL), true, "expired: the renewal's fence decides");
});

test("the terminate hook outlasts a reconcile period, two lock waits and a pass's work", () => {
  assert.equal(minTerminateHeartbeatSeconds(60), 60 + 2 * 20 + 30);
  assert.equal(minTerminateHeartbeatSeconds(5), 75);
});
