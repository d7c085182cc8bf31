import assert from "node:assert/strict";
import { test } from "node:test";
import { SCHEDULED_DEFRAGMENTATION_INPUT, upkeepTrigger } from "../../../lambdas/events/reconcile-event";

test("only the maintenance schedule's input makes a pass defragment on free space", () => {
  assert.equal(upkeepTrigger(SCHEDULED_DEFRAGMENTATION_INPUT), "schedule");
  assert.equal(upkeepTrigger({ "etcd-asg": "scheduled-defragmentation", other: 1 }), "schedule");
  const scheduled = { "detail-type": "Scheduled Event", source: "aws.events", detail: {} };
  for (const event of [scheduled, {}, { "etcd-asg": "defragment" }, null, "schedule", 1, undefined]) {
    assert.equal(upkeepTrigger(event), "reconcile", JSON.stringify(event));
  }
});
