// The cluster's CloudWatch dashboard, one page an operator opens first: the group's instances in
// service, pending and terminating (members come and go through these), the lifecycle outcomes
// (launch and terminate hook invocations and errors, failed lifecycle actions), membership drift and
// terminations held for quorum, the reconciler's passes and failures, and the newest snapshot's age
// against its alarm line with the snapshot failures. The control-plane metrics
// are those the Lambdas emit (namespace EtcdAsg, dimension ClusterName), the alarms' own.
import { Duration } from "aws-cdk-lib";
import * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import { METRIC_NAMESPACE } from "./cluster-alarms";

/** The group metrics the dashboard shows; the group must collect them (EtcdCluster does). */
export const DASHBOARD_GROUP_METRICS = new autoscaling.GroupMetrics(
  autoscaling.GroupMetric.IN_SERVICE_INSTANCES,
  autoscaling.GroupMetric.PENDING_INSTANCES,
  autoscaling.GroupMetric.TERMINATING_INSTANCES,
  autoscaling.GroupMetric.DESIRED_CAPACITY,
);

export interface ClusterDashboardProps {
  readonly clusterName: string;
  readonly autoScalingGroupName: string;
  readonly launchHook: lambda.IFunction;
  readonly terminateHook: lambda.IFunction;
  readonly reconciler: lambda.IFunction;
  /** The snapshot schedule's rate: the snapshot-age graph marks the alarm's line, two of it. */
  readonly snapshotInterval: Duration;
}

const PERIOD = Duration.minutes(1);

export class ClusterDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ClusterDashboardProps) {
    super(scope, id);
    const group = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: "AWS/AutoScaling",
        metricName,
        dimensionsMap: { AutoScalingGroupName: props.autoScalingGroupName },
        statistic: "Average",
        period: PERIOD,
      });
    const control = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: METRIC_NAMESPACE,
        metricName,
        dimensionsMap: { ClusterName: props.clusterName },
        statistic,
        period: PERIOD,
      });
    const sum = { statistic: "Sum", period: PERIOD };
    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      dashboardName: `etcd-asg-${props.clusterName}`.replace(/[^A-Za-z0-9_-]/g, "-"),
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: "Instances (members come and go with them)",
            left: [
              group("GroupInServiceInstances"),
              group("GroupPendingInstances"),
              group("GroupTerminatingInstances"),
              group("GroupDesiredCapacity"),
            ],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: "Lifecycle outcomes",
            left: [
              props.launchHook.metricInvocations({ ...sum, label: "launch hook runs" }),
              props.launchHook.metricErrors({ ...sum, label: "launch hook errors" }),
              props.terminateHook.metricInvocations({ ...sum, label: "terminate hook runs" }),
              props.terminateHook.metricErrors({ ...sum, label: "terminate hook errors" }),
              control("LifecycleActionFailures", "Sum"),
            ],
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: "Membership drift (members that do not match the instances)",
            left: [control("MembershipDrift", "Maximum")],
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: "Terminations held: quorum at risk",
            left: [control("QuorumAtRisk", "Sum")],
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: "Reconciler passes",
            left: [
              props.reconciler.metricInvocations({ ...sum, label: "passes" }),
              props.reconciler.metricErrors({ ...sum, label: "failed passes" }),
            ],
            width: 8,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: "Newest snapshot's age (seconds; the alarm fires above the line)",
            left: [control("SnapshotAge", "Maximum").with({ period: Duration.minutes(5) })],
            leftAnnotations: [
              { value: props.snapshotInterval.toSeconds() * 2, label: "two snapshot intervals" },
            ],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: "Snapshots that failed",
            left: [control("SnapshotFailures", "Sum")],
            width: 12,
          }),
        ],
      ],
    });
  }
}
