// The cluster's CloudWatch dashboard: one per cluster, named after it, graphing the group's instance
// counts (which the group collects), the lifecycle hooks' outcomes and failed lifecycle actions, drift,
// terminations held for quorum and the reconciler's passes, each on this cluster's own dimensions.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Match } from "aws-cdk-lib/assertions";
import { type Fixture, makeFixture, type Synthesized, synthesize } from "./synth-fixture";

let fixture: Fixture;
let synthesized: Synthesized;

before(() => {
  fixture = makeFixture();
  synthesized = synthesize(fixture);
});
after(() => fixture.remove());

/** The dashboard body with its Fn::Join flattened: tokens (names of functions) stay as objects. */
function dashboardBody(): string {
  const dashboards = synthesized.template.findResources("AWS::CloudWatch::Dashboard");
  assert.equal(Object.keys(dashboards).length, 1);
  const body = Object.values(dashboards)[0]?.Properties?.DashboardBody as { "Fn::Join": [string, unknown[]] };
  return body["Fn::Join"][1].map((part) => (typeof part === "string" ? part : JSON.stringify(part))).join("");
}

test("one dashboard, named after the cluster", () => {
  synthesized.template.hasResourceProperties("AWS::CloudWatch::Dashboard", {
    DashboardName: "etcd-asg-EtcdAsg-Cluster",
  });
});

test("it graphs the group's instances, which the group collects", () => {
  const body = dashboardBody();
  for (const metric of [
    "GroupInServiceInstances",
    "GroupPendingInstances",
    "GroupTerminatingInstances",
    "GroupDesiredCapacity",
  ]) {
    assert.match(body, new RegExp(`"AWS/AutoScaling","${metric}","AutoScalingGroupName","EtcdAsg-Cluster"`));
  }
  synthesized.template.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", {
    MetricsCollection: [
      {
        Granularity: "1Minute",
        Metrics: Match.arrayWith([
          "GroupInServiceInstances",
          "GroupPendingInstances",
          "GroupTerminatingInstances",
        ]),
      },
    ],
  });
});

test("it graphs the newest snapshot's age against the alarm's line, and the snapshot failures", () => {
  const body = dashboardBody();
  for (const metric of ["SnapshotAge", "SnapshotFailures"]) {
    assert.match(body, new RegExp(`"EtcdAsg","${metric}","ClusterName","EtcdAsg-Cluster"`));
  }
  assert.match(body, /"value":3600,"label":"two snapshot intervals"/);
});

test("it graphs lifecycle outcomes, drift, quorum at risk and the reconciler on this cluster's dimensions", () => {
  const body = dashboardBody();
  for (const metric of ["LifecycleActionFailures", "MembershipDrift", "QuorumAtRisk"]) {
    assert.match(body, new RegExp(`"EtcdAsg","${metric}","ClusterName","EtcdAsg-Cluster"`));
  }
  for (const title of ["Lifecycle outcomes", "Reconciler passes", "quorum at risk", "Membership drift"]) {
    assert.match(body, new RegExp(title));
  }
  for (const fn of ["launch hook", "terminate hook"]) {
    assert.match(body, new RegExp(`"label":"${fn} runs"`));
    assert.match(body, new RegExp(`"label":"${fn} errors"`));
  }
});
