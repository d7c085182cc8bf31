// The scheduled defragmentation (issue 16): a rule sends the reconciler the constant input its upkeep
// reads as "defragment what is worth it", daily by default (the simulator's side:
// test/integration/defragmentation-schedule.test.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { Match } from "aws-cdk-lib/assertions";
import { SCHEDULED_DEFRAGMENTATION_INPUT } from "../../lambdas/events/reconcile-event";
import { makeFixture, synthesize } from "./synth-fixture";

test("a daily rule sends the reconciler the scheduled-defragmentation input, retried, to the dead-letter queue", (t) => {
  const fixture = makeFixture();
  t.after(() => fixture.remove());
  const { template } = synthesize(fixture);
  const reconcilers = Object.keys(template.findResources("AWS::Lambda::Function")).filter((id) =>
    /^ClusterControlPlaneReconciler[0-9A-F]{8}$/.test(id),
  );
  assert.equal(reconcilers.length, 1, reconcilers.join(", "));
  const reconcilerArn = { "Fn::GetAtt": [reconcilers[0], "Arn"] };
  template.hasResourceProperties("AWS::Events::Rule", {
    Description: Match.stringLikeRegexp("^Defragments the etcd members of EtcdAsg-Cluster"),
    ScheduleExpression: "rate(1 day)",
    State: "ENABLED",
    Targets: [
      Match.objectLike({
        Arn: reconcilerArn,
        Input: JSON.stringify(SCHEDULED_DEFRAGMENTATION_INPUT),
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
        DeadLetterConfig: Match.objectLike({ Arn: Match.anyValue() }),
      }),
    ],
  });
  // The reconciler's own schedule still sends the scheduled event itself.
  template.hasResourceProperties("AWS::Events::Rule", {
    ScheduleExpression: "rate(1 minute)",
    Targets: [Match.objectLike({ Arn: reconcilerArn, Input: Match.absent() })],
  });
});
