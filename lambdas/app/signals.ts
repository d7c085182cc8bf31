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
  };
}
