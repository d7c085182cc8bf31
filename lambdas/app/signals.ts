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
  clientEndpointFailures: "ClientEndpointFailures",
} as const;

export function metricSignals(clusterName: string, logger: Logger): Signals {
  const metrics = new Metrics({
    namespace: METRIC_NAMESPACE,
    serviceName: "etcd-asg",
    defaultDimensions: { ClusterName: clusterName },
  });
  const emit = (name: string, value: number) => {
    metrics.addMetric(name, MetricUnit.Count, value);
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
  };
}
