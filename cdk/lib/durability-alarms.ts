// The alarms of snapshots and disaster recovery (docs/disaster-recovery.md): snapshots that stopped
// (the SnapshotAge the snapshot function reports, over two intervals), quorum lost for good, and a
// recovery waiting for an operator's restore (manual mode, or nothing to restore from). They read
// the metrics the functions emit in embedded metric format (namespace EtcdAsg, dimension ClusterName).
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as sns from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";
import { METRIC_NAMESPACE } from "./cluster-alarms";

export interface DurabilityAlarmsProps {
  readonly clusterName: string;
  /** The snapshot schedule's rate: the age alarm fires past two of it. */
  readonly snapshotInterval: Duration;
  readonly topic: sns.ITopic;
}

export class DurabilityAlarms extends Construct {
  readonly snapshotAge: cloudwatch.Alarm;
  readonly quorumLost: cloudwatch.Alarm;
  readonly recoveryNeedsOperator: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DurabilityAlarmsProps) {
    super(scope, id);
    const { clusterName, snapshotInterval, topic } = props;
    const metric = (metricName: string, period: Duration): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: METRIC_NAMESPACE,
        metricName,
        dimensionsMap: { ClusterName: clusterName },
        statistic: "Maximum",
        period,
      });
    const interval = snapshotInterval.toMinutes();

    // Every snapshot run reports the latest snapshot's age as it starts (about one interval when all
    // is well) and 0 once it recorded a new one. One report over two intervals in the last two means
    // two runs in a row took none. A run that reports nothing at all (failed before reading the
    // ledger) goes to the dead-letter queue; two intervals without any report turn this alarm to
    // INSUFFICIENT_DATA, which notifies too. No report before the first snapshot: no alarm at deploy.
    this.snapshotAge = new cloudwatch.Alarm(this, "SnapshotAge", {
      alarmDescription:
        `etcd-asg ${clusterName}: the newest snapshot is older than two snapshot intervals ` +
        `(${2 * interval} minutes), or no snapshot run has reported for two intervals; see the snapshot ` +
        "function's logs and the SnapshotFailures metric (a lost quorum would lose every write since the newest snapshot)",
      metric: metric("SnapshotAge", snapshotInterval),
      threshold: snapshotInterval.toSeconds() * 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.MISSING,
    });
    const atLeastOne = {
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // No data means no reconcile pass saw a loss.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };
    this.quorumLost = new cloudwatch.Alarm(this, "QuorumLost", {
      ...atLeastOne,
      alarmDescription: `etcd-asg ${clusterName}: quorum is lost for good (no leader past the threshold, a majority's instances gone or silent); in automatic mode the control plane opens a new generation from the newest data, in manual mode it waits for \`etcd-asg restore\``,
      metric: metric("QuorumLost", Duration.minutes(5)),
    });
    this.recoveryNeedsOperator = new cloudwatch.Alarm(this, "RecoveryNeedsOperator", {
      ...atLeastOne,
      alarmDescription: `etcd-asg ${clusterName}: quorum is lost for good and the control plane waits for an operator (manual mode, or nothing to restore from); list the snapshots with \`etcd-asg snapshots\` and run \`etcd-asg restore --key KEY\` (docs/disaster-recovery.md)`,
      metric: metric("RecoveryNeedsOperator", Duration.minutes(5)),
    });

    const action = new actions.SnsAction(topic);
    for (const alarm of [this.snapshotAge, this.quorumLost, this.recoveryNeedsOperator]) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
    this.snapshotAge.addInsufficientDataAction(action);
  }
}
