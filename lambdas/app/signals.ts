// Operational signals as CloudWatch metrics (embedded metric format, written with the logs):
// namespace EtcdAsg, dimension ClusterName. The stack's alarms watch these names.
import type { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Signals } from "./ports";

export const METRIC_NAMESPACE = "EtcdAsg";
export const METRICS = {
  quorumAtRisk: "QuorumAtRisk",
  drift: "MembershipDrift",
  lifecycleActionFailures: "LifecycleActionFailures",
  snapshotAge: "SnapshotAge",
  snapshotFailures: "SnapshotFailures",
  quorumLost: "QuorumLost",
  recoveryNeedsOperator: "RecoveryNeedsOperator",
  clientEndpointFailures: "ClientEndpointFailures",
  healthReplacements: "HealthReplacements",
  unhealthyMembers: "UnhealthyMembers",
  healthQuorumView: "HealthQuorumView",
  alarmNospace: "EtcdAlarmNospace",
  alarmCorrupt: "EtcdAlarmCorrupt",
  compactions: "EtcdCompactions",
  defragmentations: "EtcdDefragmentations",
  nospaceDisarmed: "EtcdNospaceDisarmed",
  upkeepHeld: "EtcdUpkeepHeld",
} as const;

export function metricSignals(clusterName: string, logger: Logger): Signals {
  const metrics = new Metrics({
    namespace: METRIC_NAMESPACE,
    serviceName: "etcd-asg",
    defaultDimensions: { ClusterName: clusterName },
  });
  const emit = (
    name: string,
    value: number,
    unit: (typeof MetricUnit)[keyof typeof MetricUnit] = MetricUnit.Count,
  ) => {
    metrics.addMetric(name, unit, value);
    metrics.publishStoredMetrics();
  };
  return {
    quorumAtRisk: (instanceId, reason) => {
      logger.warn("termination held: quorum at risk", { instanceId, reason });
      emit(METRICS.quorumAtRisk, 1);
    },
    drift: (count) => emit(METRICS.drift, count),
    lifecycleActionFailure: (instanceId, reason) => {
      logger.error("lifecycle action failed", { instanceId, reason });
      emit(METRICS.lifecycleActionFailures, 1);
    },
    clientEndpointFailure: (reason) => {
      logger.warn("client name not brought in step; the next reconcile pass tries again", { reason });
      emit(METRICS.clientEndpointFailures, 1);
    },
    snapshotAge: (ageMs) =>
      emit(METRICS.snapshotAge, Math.max(0, Math.round(ageMs / 1000)), MetricUnit.Seconds),
    snapshotFailure: (reason) => {
      logger.error("snapshot failed", { reason });
      emit(METRICS.snapshotFailures, 1);
    },
    quorumLost: (reason) => {
      logger.error("quorum lost for good", { reason });
      emit(METRICS.quorumLost, 1);
    },
    recoveryNeedsOperator: (reason) => {
      logger.error("recovery needs an operator", { reason });
      emit(METRICS.recoveryNeedsOperator, 1);
    },
    health: {
      replacementRequested: (instanceId, reason, retry) => {
        logger.warn("health replacement: instance set Unhealthy", { instanceId, reason, retry });
        emit(METRICS.healthReplacements, 1);
      },
      gauges: (silentVoters, quorumView) => {
        emit(METRICS.unhealthyMembers, silentVoters);
        emit(METRICS.healthQuorumView, quorumView ? 1 : 0);
      },
    },
    upkeep: {
      alarms: ({ nospace, corrupt }) => {
        if (nospace > 0 || corrupt > 0) logger.warn("etcd alarms raised", { nospace, corrupt });
        emit(METRICS.alarmNospace, nospace);
        emit(METRICS.alarmCorrupt, corrupt);
      },
      applied: (step) => {
        logger.info("etcd upkeep applied", { step: step.kind, reason: step.reason });
        const metric = {
          compact: METRICS.compactions,
          defragment: METRICS.defragmentations,
          disarm: METRICS.nospaceDisarmed,
        }[step.kind];
        emit(metric, 1);
      },
      held: (reason) => {
        logger.warn("etcd upkeep held", { reason });
        emit(METRICS.upkeepHeld, 1);
      },
    },
  };
}
