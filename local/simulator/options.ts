// The simulator's options. Everything the stack itself decides comes from the template; what is here
// is either a choice of template (size, a given file), an operator's action right after the deploy
// (capacity, max size), or an explicit override of a duration the template sets, so that a scenario
// takes seconds instead of the minutes AWS would. Every override in force is printed at start.

import type { NetworkIdentity } from "../../chaos/network/identity";
import { minTerminateHeartbeatSeconds } from "../../lambdas/domain/lock-timing";

export interface SimulatorOptions {
  /** The cluster size to synthesize the app with (context etcd-asg:clusterSize). @default 3 */
  readonly size?: number;
  /** Further CDK context for the synthesis, e.g. `{ "etcd-asg:joinStrategy": "add" }`. */
  readonly context?: Readonly<Record<string, string>>;
  /** A synthesized template to run instead of synthesizing the app. */
  readonly template?: string;
  /** Where the template's assets (`asset.<hash>/`) are. @default the template's folder */
  readonly assetsDir?: string;
  /** The operator sets the group's desired capacity right after the deploy. @default the template's */
  readonly capacity?: number;
  /** The operator raises the group's MaxSize right after the deploy (room for extra instances). */
  readonly maxSize?: number;
  /** Override of the launch hook's HeartbeatTimeout. @default 120 s (the stack: 15 min) */
  readonly launchHeartbeatTimeoutMs?: number;
  /** Override of the terminate hook's HeartbeatTimeout. @default 75 s (the stack: 10 min; both at least
   * a reconcile period, two lock waits and a pass's work) */
  readonly terminateHeartbeatTimeoutMs?: number;
  /** Override of LEARNER_READY_TIMEOUT_SECONDS for every function. @default 25 (the stack: 600) */
  readonly learnerReadyTimeoutSeconds?: number;
  /** Override of the reconcile schedule's period; 0 runs it only on demand. @default 5000 (the stack: 1 min) */
  readonly reconcileIntervalMs?: number;
  /** Lambda's waits before async-invoke retries. @default [1000, 2000] (AWS: about 1 and 2 min) */
  readonly asyncRetryDelaysMs?: readonly number[];
  /** How long after killInstance the group's EC2 health check marks the instance Unhealthy. @default 3000 */
  readonly healthCheckDelayMs?: number;
  /** The group's DefaultInstanceWarmup, what an instance refresh waits after each new instance is
   * InService unless told otherwise. @default 2 (the stack: unset, so 300 s) */
  readonly instanceWarmupSeconds?: number;
  /** How long an instance boots before its user data starts; the launch event is sent at
   * Pending:Wait, before it, as AWS sends it. @default 0 (the user data starts at launch) */
  readonly bootDelayMs?: number;
  /** Told each process identity before its processes start, so network faults can tell their packets
   * apart (chaos/network): the Lambda workers' (which then run under its UID) at start, each node's
   * etcd before the node boots. @default none: the workers run as the simulator's user */
  readonly registerIdentity?: (identity: NetworkIdentity) => Promise<void>;
  /** Override of HEALTH_GRACE_SECONDS: how long a voter's etcd may stay silent on a live instance
   * before the reconciler replaces it. At least 10 and two reconcile periods. @default 15 (the stack: 180) */
  readonly healthGraceSeconds?: number;
  /** Override of HEALTH_WARMUP_SECONDS: a new member's time before health judges it. @default 10 (the stack: 300) */
  readonly healthWarmupSeconds?: number;
  /** Override of the backend quota every node is given (QUOTA_BACKEND_BYTES_OVERRIDE), so that a
   * scenario fills a member in seconds. @default none (the quota follows the data volume) */
  readonly quotaBackendBytes?: number;
  /** Override of QUORUM_LOSS_THRESHOLD_SECONDS: how long no member may see a leader, with a majority's
   * instances gone or silent, before recovery opens a new generation. @default 20 (the stack: 300) */
  readonly quorumLossThresholdSeconds?: number;
  /** Override of SNAPSHOT_INTERVAL_SECONDS, and the snapshot schedule ticks at it. @default the
   * template's interval sped up as the schedules are (the stack: 1800 s, at a 5 s reconcile period 150 s) */
  readonly snapshotIntervalSeconds?: number;
  /** Each instance's data dir on a volume of its own of this many bytes (a tmpfs; needs root), which
   * chaos's disk-full fills (`SimulatedNode.fillDisk`). @default none: on the simulator's disk */
  readonly dataVolumeBytes?: number;
  /** Override of DISASTER_RECOVERY for every function: "manual" makes a quorum lost for good raise
   * the alarm and wait for the restore command. @default the template's (the stack: "automatic") */
  readonly disasterRecovery?: "automatic" | "manual";
  /** Progress lines (instances, events, membership changes). @default none */
  readonly log?: (line: string) => void;
  /** Aborting it while start() runs stops whatever start() launched so far and rejects. */
  readonly signal?: AbortSignal;
}

export const DEFAULT_OVERRIDES = {
  launchHeartbeatTimeoutMs: 120_000,
  // The stack's rule at the simulator's period (lambdas/domain/lock-timing.ts): 5 + 2 × 20 + 30 s.
  terminateHeartbeatTimeoutMs: minTerminateHeartbeatSeconds(5) * 1000,
  learnerReadyTimeoutSeconds: 25,
  reconcileIntervalMs: 5000,
  asyncRetryDelaysMs: [1000, 2000] as readonly number[],
  healthCheckDelayMs: 3000,
  instanceWarmupSeconds: 2,
  healthGraceSeconds: 15,
  healthWarmupSeconds: 10,
  quorumLossThresholdSeconds: 20,
} as const;

export type Overrides = {
  readonly [K in keyof typeof DEFAULT_OVERRIDES]: (typeof DEFAULT_OVERRIDES)[K] extends readonly number[]
    ? readonly number[]
    : number;
} & {
  readonly quotaBackendBytes?: number;
  readonly snapshotIntervalSeconds?: number;
  readonly disasterRecovery?: "automatic" | "manual";
};

export function overridesOf(options: SimulatorOptions): Overrides {
  return {
    launchHeartbeatTimeoutMs: options.launchHeartbeatTimeoutMs ?? DEFAULT_OVERRIDES.launchHeartbeatTimeoutMs,
    terminateHeartbeatTimeoutMs:
      options.terminateHeartbeatTimeoutMs ?? DEFAULT_OVERRIDES.terminateHeartbeatTimeoutMs,
    learnerReadyTimeoutSeconds:
      options.learnerReadyTimeoutSeconds ?? DEFAULT_OVERRIDES.learnerReadyTimeoutSeconds,
    reconcileIntervalMs: options.reconcileIntervalMs ?? DEFAULT_OVERRIDES.reconcileIntervalMs,
    asyncRetryDelaysMs: options.asyncRetryDelaysMs ?? DEFAULT_OVERRIDES.asyncRetryDelaysMs,
    healthCheckDelayMs: options.healthCheckDelayMs ?? DEFAULT_OVERRIDES.healthCheckDelayMs,
    instanceWarmupSeconds: options.instanceWarmupSeconds ?? DEFAULT_OVERRIDES.instanceWarmupSeconds,
    healthGraceSeconds: options.healthGraceSeconds ?? DEFAULT_OVERRIDES.healthGraceSeconds,
    healthWarmupSeconds: options.healthWarmupSeconds ?? DEFAULT_OVERRIDES.healthWarmupSeconds,
    quorumLossThresholdSeconds:
      options.quorumLossThresholdSeconds ?? DEFAULT_OVERRIDES.quorumLossThresholdSeconds,
    ...(options.quotaBackendBytes === undefined ? {} : { quotaBackendBytes: options.quotaBackendBytes }),
    ...(options.snapshotIntervalSeconds === undefined
      ? {}
      : { snapshotIntervalSeconds: options.snapshotIntervalSeconds }),
    ...(options.disasterRecovery === undefined ? {} : { disasterRecovery: options.disasterRecovery }),
  };
}
