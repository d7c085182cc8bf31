// The alarms an operator acts on: events the control plane could not handle (dead-letter queue),
// a reconciler failing pass after pass, lifecycle actions that failed, members that drifted from the
// instances, a termination held because it would lose quorum, and etcd's NOSPACE and CORRUPT alarms.
// The last five read the metrics the Lambdas emit in CloudWatch embedded metric format (namespace
// EtcdAsg, dimension ClusterName).
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

export const METRIC_NAMESPACE = "EtcdAsg";

export interface ClusterAlarmsProps {
  readonly clusterName: string;
  readonly deadLetterQueue: sqs.IQueue;
  /** Its failed passes go nowhere (the next pass redoes them): only this alarm tells of them. */
  readonly reconciler: lambda.IFunction;
  readonly topic: sns.ITopic;
}

export class ClusterAlarms extends Construct {
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: ClusterAlarmsProps) {
    super(scope, id);
    const metric = (metricName: string, statistic: string, period: Duration): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: METRIC_NAMESPACE,
        metricName,
        dimensionsMap: { ClusterName: props.clusterName },
        statistic,
        period,
      });
    const atLeastOne = {
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No data means no Lambda reported a problem.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };

    const alarms = [
      new cloudwatch.Alarm(this, "DeadLetters", {
        ...atLeastOne,
        alarmDescription: `etcd-asg ${props.clusterName}: lifecycle or schedule events the control plane could not handle are in the dead-letter queue; read them, fix the cause, and run the reconciler`,
        metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          statistic: "Maximum",
          period: Duration.minutes(5),
        }),
        evaluationPeriods: 1,
      }),
      // A pass that fails is redone by the next a minute later, and is kept nowhere; the drift it
      // would report is not emitted while it fails. Most of its passes failing for 15 minutes is
      // not a passing lock conflict with a lifecycle function.
      new cloudwatch.Alarm(this, "ReconcilerFailing", {
        threshold: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `etcd-asg ${props.clusterName}: the reconciler has failed at least 3 of its 5 passes in each of the last 3 five-minute periods; see the reconciler logs`,
        metric: props.reconciler.metricErrors({ statistic: "Sum", period: Duration.minutes(5) }),
        evaluationPeriods: 3,
      }),
      new cloudwatch.Alarm(this, "LifecycleActionFailures", {
        ...atLeastOne,
        alarmDescription: `etcd-asg ${props.clusterName}: the control plane failed to complete a lifecycle action; see the launch-hook and terminate-hook logs`,
        metric: metric("LifecycleActionFailures", "Sum", Duration.minutes(5)),
        evaluationPeriods: 1,
      }),
      // A replacement drifts for a minute or two by design (member removed after its instance goes);
      // drift that lasts 15 minutes is not a replacement in progress.
      new cloudwatch.Alarm(this, "MembershipDrift", {
        ...atLeastOne,
        alarmDescription: `etcd-asg ${props.clusterName}: etcd members have not matched the InService instances for 15 minutes; see the reconciler logs`,
        metric: metric("MembershipDrift", "Minimum", Duration.minutes(5)),
        evaluationPeriods: 3,
      }),
      new cloudwatch.Alarm(this, "ClientEndpointFailing", {
        threshold: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `etcd-asg ${props.clusterName}: the client name's Route 53 records could not be brought in step at least 3 times in each of the last 3 five-minute periods (clients may be sent to removed members); see the reconciler logs`,
        metric: metric("ClientEndpointFailures", "Sum", Duration.minutes(5)),
        evaluationPeriods: 3,
      }),
      new cloudwatch.Alarm(this, "QuorumAtRisk", {
        ...atLeastOne,
        alarmDescription: `etcd-asg ${props.clusterName}: a termination is held because removing the member would lose quorum; restore the unhealthy members first`,
        metric: metric("QuorumAtRisk", "Maximum", Duration.minutes(1)),
        evaluationPeriods: 1,
      }),
      // etcd's alarms, as each reconcile pass reads them (docs/health.md).
      new cloudwatch.Alarm(this, "EtcdNospace", {
        ...atLeastOne,
        alarmDescription: `etcd-asg ${props.clusterName}: etcd raised NOSPACE and refuses writes; the reconciler compacts, defragments and disarms it, unless the live data is over the line: then delete keys or raise dataVolumeSize (see the reconciler logs)`,
        metric: metric("EtcdAlarmNospace", "Maximum", Duration.minutes(5)),
        evaluationPeriods: 1,
      }),
      new cloudwatch.Alarm(this, "EtcdCorrupt", {
        ...atLeastOne,
        alarmDescription: `etcd-asg ${props.clusterName}: etcd raised CORRUPT (a member's data diverged); upkeep is held until an operator replaces the member`,
        metric: metric("EtcdAlarmCorrupt", "Maximum", Duration.minutes(5)),
        evaluationPeriods: 1,
      }),
    ];
    for (const alarm of alarms) {
      alarm.addAlarmAction(new actions.SnsAction(props.topic));
      alarm.addOkAction(new actions.SnsAction(props.topic));
    }
    this.alarms = alarms;
  }
}
