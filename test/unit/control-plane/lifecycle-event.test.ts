import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidEventError, parseLifecycleEvent } from "../../../lambdas/events/lifecycle-event";

const expected = { kind: "launch", asgName: "etcd-asg", hookName: "etcd-launch" } as const;

export function launchEvent(detail: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: "0",
    id: "7e1f4f1c-1c1d-4f0a-9c1f-1a2b3c4d5e6f",
    "detail-type": "EC2 Instance-launch Lifecycle Action",
    source: "aws.autoscaling",
    account: "123456789012",
    time: "2026-11-21T12:00:00Z",
    region: "us-east-1",
    resources: [
      "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x:autoScalingGroupName/etcd-asg",
    ],
    detail: {
      LifecycleActionToken: "87654321-4321-4321-4321-210987654321",
      AutoScalingGroupName: "etcd-asg",
      LifecycleHookName: "etcd-launch",
      EC2InstanceId: "i-0123456789abcdef0",
      LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
      Origin: "EC2",
      Destination: "AutoScalingGroup",
      ...detail,
    },
  };
}

describe("lifecycle event parsing", () => {
  test("accepts this group's launch action", () => {
    const parsed = parseLifecycleEvent(launchEvent(), expected);
    assert.deepEqual(parsed, {
      act: true,
      action: {
        kind: "launch",
        token: "87654321-4321-4321-4321-210987654321",
        instanceId: "i-0123456789abcdef0",
        hookName: "etcd-launch",
      },
    });
  });

  test("ignores a warm-pool launch (destination WarmPool)", () => {
    const parsed = parseLifecycleEvent(launchEvent({ Destination: "WarmPool" }), expected);
    assert.equal(parsed.act, false);
  });

  test("rejects another group's event, naming both groups", () => {
    assert.throws(
      () => parseLifecycleEvent(launchEvent({ AutoScalingGroupName: "other" }), expected),
      (e: unknown) => e instanceof InvalidEventError && /"other", not "etcd-asg"/.test(e.message),
    );
  });

  test("rejects another hook's event", () => {
    assert.throws(
      () => parseLifecycleEvent(launchEvent({ LifecycleHookName: "x" }), expected),
      /lifecycle hook "x"/,
    );
  });

  test("rejects a terminate event sent to the launch handler", () => {
    const event = {
      ...launchEvent({ LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING" }),
      "detail-type": "EC2 Instance-terminate Lifecycle Action",
    };
    assert.throws(() => parseLifecycleEvent(event, expected), /expected a EC2 Instance-launch/);
  });

  test("names the malformed field", () => {
    assert.throws(
      () => parseLifecycleEvent(launchEvent({ EC2InstanceId: "web-1" }), expected),
      /detail\.EC2InstanceId: an EC2 instance ID looks like/,
    );
  });

  test("rejects something that is not an event at all", () => {
    assert.throws(() => parseLifecycleEvent("launch!", expected), InvalidEventError);
  });
});
