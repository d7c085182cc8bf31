// The EtcdCluster props of snapshots and disaster recovery (docs/disaster-recovery.md): how often a
// snapshot is taken, which snapshots the bucket keeps, whether a lost quorum is recovered by itself,
// and how long without a leader counts as lost. Each is checked here and reaches the functions as the
// environment variables lambdas/config.ts reads.
import { Duration } from "aws-cdk-lib";
import { DISASTER_RECOVERY_MODES, type DisasterRecoveryMode } from "../../lambdas/domain/durability";
import { formatRetention, type RetentionTier } from "../../lambdas/domain/snapshot-retention";
import { EtcdClusterPropsError } from "./props-error";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Ten years: longer than any bucket is meant to keep a snapshot of a running cluster. */
const MAX_RETENTION_DAYS = 3650;

/** Which snapshots the bucket keeps besides the newest, which is never deleted. */
export interface SnapshotRetention {
  /**
   * Keep the newest snapshot of each hour for this many days; 0 keeps no hourly tier.
   * @default 7
   */
  readonly hourlyForDays?: number;
  /**
   * Keep the newest snapshot of each day (UTC) for this many days; 0 keeps no daily tier.
   * @default 90
   */
  readonly dailyForDays?: number;
}

export interface DurabilityProps {
  /**
   * How often a snapshot is taken into the bucket: the schedule's rate, and the RPO (at most this
   * much of the writes may be lost when quorum is lost for good). A removal also takes one first
   * when the latest is older than this. Whole minutes, from 5 minutes to 24 hours.
   * @default Duration.minutes(30)
   */
  readonly snapshotInterval?: Duration;
  /**
   * Which snapshots the bucket keeps; the newest, and the one the current generation was restored
   * from, are never deleted whatever their age.
   * @default { hourlyForDays: 7, dailyForDays: 90 }
   */
  readonly snapshotRetention?: SnapshotRetention;
  /**
   * What happens when quorum is lost for good: `automatic` opens a new cluster generation from the
   * newest data that exists; `manual` raises the `RecoveryNeedsOperator` alarm and waits for
   * `etcd-asg restore`.
   * @default "automatic"
   */
  readonly disasterRecovery?: DisasterRecoveryMode;
  /**
   * How long no member may have a leader (while a majority's instances are gone or silent) before
   * quorum counts as lost for good. Long enough that a partition or a slow election is not a loss.
   * Whole seconds, from 1 minute to 1 hour.
   * @default Duration.minutes(5)
   */
  readonly quorumLossThreshold?: Duration;
}

export interface ResolvedDurability {
  readonly snapshotInterval: Duration;
  /** Newest-first tiers, as lambdas/domain/snapshot-retention.ts applies them. */
  readonly snapshotRetention: readonly RetentionTier[];
  readonly disasterRecovery: DisasterRecoveryMode;
  readonly quorumLossThreshold: Duration;
}

/** Applies the defaults and checks each prop. */
export function resolveDurability(props: DurabilityProps): ResolvedDurability {
  const disasterRecovery = props.disasterRecovery ?? "automatic";
  if (!DISASTER_RECOVERY_MODES.includes(disasterRecovery)) {
    fail(
      `disasterRecovery must be one of ${DISASTER_RECOVERY_MODES.join(", ")}; received ${JSON.stringify(disasterRecovery)}`,
    );
  }
  return {
    snapshotInterval: snapshotInterval(props.snapshotInterval ?? Duration.minutes(30)),
    snapshotRetention: snapshotRetention(props.snapshotRetention ?? {}),
    disasterRecovery,
    quorumLossThreshold: quorumLossThreshold(props.quorumLossThreshold ?? Duration.minutes(5)),
  };
}

/** The environment the functions read these settings from (lambdas/config.ts). */
export function durabilityEnvironment(durability: ResolvedDurability): {
  readonly all: Record<string, string>;
  readonly snapshot: Record<string, string>;
} {
  return {
    // The reconciler decides a loss and what to do about it; every function loads the same config.
    all: {
      DISASTER_RECOVERY: durability.disasterRecovery,
      QUORUM_LOSS_THRESHOLD_SECONDS: String(durability.quorumLossThreshold.toSeconds()),
    },
    snapshot: {
      SNAPSHOT_INTERVAL_SECONDS: String(durability.snapshotInterval.toSeconds()),
      SNAPSHOT_RETENTION: formatRetention(durability.snapshotRetention),
    },
  };
}

function fail(message: string): never {
  throw new EtcdClusterPropsError(message);
}

function snapshotInterval(interval: Duration): Duration {
  const seconds = interval.toSeconds({ integral: false });
  if (!Number.isInteger(seconds / 60) || seconds < 300 || seconds > 86_400) {
    fail(
      `snapshotInterval must be a whole number of minutes from 5 minutes to 24 hours (the snapshot ` +
        `schedule's rate); received ${seconds} s`,
    );
  }
  return interval;
}

function snapshotRetention(retention: SnapshotRetention): RetentionTier[] {
  const hourly = retentionDays("hourlyForDays", retention.hourlyForDays ?? 7);
  const daily = retentionDays("dailyForDays", retention.dailyForDays ?? 90);
  if (hourly === 0 && daily === 0) {
    fail(
      "snapshotRetention keeps no tier (hourlyForDays and dailyForDays are both 0): only the newest " +
        "snapshot would be kept; give one of them a number of days",
    );
  }
  return [
    ...(hourly === 0 ? [] : [{ everyMs: HOUR_MS, forMs: hourly * DAY_MS }]),
    ...(daily === 0 ? [] : [{ everyMs: DAY_MS, forMs: daily * DAY_MS }]),
  ];
}

function retentionDays(prop: string, days: number): number {
  if (!Number.isInteger(days) || days < 0 || days > MAX_RETENTION_DAYS) {
    fail(
      `snapshotRetention.${prop} must be a whole number of days from 0 to ${MAX_RETENTION_DAYS}; ` +
        `received ${JSON.stringify(days)}`,
    );
  }
  return days;
}

function quorumLossThreshold(threshold: Duration): Duration {
  const seconds = threshold.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < 60 || seconds > 3600) {
    fail(
      `quorumLossThreshold must be a whole number of seconds from 1 minute to 1 hour (a partition or ` +
        `a slow election must not count as a loss); received ${seconds} s`,
    );
  }
  return threshold;
}
