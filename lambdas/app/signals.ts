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
