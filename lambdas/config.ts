// The control plane's configuration, read from the environment once at init and validated: a
// missing or malformed variable fails the cold start with its name, never a later invocation.
import { DISASTER_RECOVERY_MODES, type DisasterRecoveryMode } from "./domain/durability";
import {
  type EtcdStorageSettings,
  etcdStorageSettings,
  InvalidStorageInputError,
  MAX_QUOTA_BACKEND_BYTES,
  MIB,
} from "./domain/etcd-storage";
import { type EtcdVersion, InvalidEtcdVersionError, parseEtcdVersion } from "./domain/etcd-version";
import { LOCK_TTL_SECONDS, LOCK_WAIT_SECONDS } from "./domain/lock-timing";
import { type HealthPolicy, healthPolicy, InvalidHealthPolicyError } from "./domain/member-health";
import { InvalidPolicyError, validatePolicy } from "./domain/policy";
import { DEFAULT_QUORUM_LOSS_THRESHOLD_MS } from "./domain/quorum-loss";
import type { Policy } from "./domain/snapshot";
import {
  DEFAULT_RETENTION,
  formatRetention,
  InvalidRetentionError,
  parseRetention,
  type RetentionTier,
} from "./domain/snapshot-retention";
import { DEFAULT_SNAPSHOT_INTERVAL_MS } from "./domain/snapshot-schedule";
import { EtcdAsgError } from "./errors";
import * as z from "./schema";

export class ConfigError extends EtcdAsgError {
  override readonly name = "ConfigError";
}

export interface Config {
  readonly clusterName: string;
  readonly asgName: string;
  readonly ledgerTable: string;
  readonly launchHookName: string;
  readonly terminateHookName: string;
  readonly policy: Policy;
  /** Data dir published to nodes (the boot script may override it locally). */
  readonly dataDir: string;
  /** The membership lock's lease; a change that outlives it is fenced off. */
  readonly lockTtlMs: number;
  /** How long an invocation waits for another holder's lock before giving up (retryable). */
  readonly lockWaitMs: number;
  /** How long an invocation keeps retrying a change etcd refuses for a passing reason. */
  readonly refusalWaitMs: number;
  /** The node role's ARN: the node API accepts only its sessions (partition, account and name pinned). */
  readonly instanceRoleArn: string;
  readonly pki: {
    /** The KMS keys (ECC_NIST_P256, SIGN_VERIFY) whose private halves are the CAs' keys. */
    readonly peerCaKeyArn: string;
    readonly clientCaKeyArn: string;
    /** A node's peer and server certificates live this long; nodes renew at two thirds of it. */
    readonly nodeCertificateLifetimeMs: number;
    /** The cluster's client DNS name: a SAN of every server certificate. */
    readonly clientDnsName: string | undefined;
  };
  /** Which voter is replaced through the group, and when (domain/member-health.ts). */
  readonly health: HealthPolicy;
  /** etcd's storage as every node is told (quota, auto-compaction) and upkeep reads it. */
  readonly storage: EtcdStorageSettings;
  /** Bound on one defragmentation; the reconciler's timeout leaves room for one. */
  readonly defragmentTimeoutMs: number;
  /** The private hosted zone whose records at and under the client DNS name the control plane
   * keeps (A: the started voters; SRV: etcd's DNS discovery); undefined when the stack has none. */
  readonly clientEndpoint:
    | {
        /** Without the `/hostedzone/` prefix. */
        readonly hostedZoneId: string;
        /** The client DNS name, as CLIENT_DNS_NAME gives it. */
        readonly name: string;
      }
    | undefined;
  readonly durability: DurabilityConfig;
}

/** Snapshots and disaster recovery (issue 15). */
export interface DurabilityConfig {
  /** The snapshot bucket; undefined where the function has no business with it. */
  readonly bucket: string | undefined;
  /** The snapshot function, invoked before a removal and to copy a surviving member. */
  readonly snapshotFunctionName: string | undefined;
  readonly intervalMs: number;
  readonly retention: readonly RetentionTier[];
  readonly quorumLossThresholdMs: number;
  readonly mode: DisasterRecoveryMode;
  /** The etcd release the nodes run (the stack's etcdVersion): it chooses the restore command. */
  readonly etcdVersion: EtcdVersion | undefined;
  /** How long a removal waits for the snapshot it asks for first; 0 asks without waiting. */
  readonly beforeRemovalWaitMs: number;
  /** Lambda's AWS_LAMBDA_FUNCTION_MEMORY_SIZE: the snapshot upload is tuned to it. */
  readonly functionMemoryMb: number | undefined;
}

const name = z.string().check(z.trim(), z.minLength(1), z.maxLength(255));
const integer = (fallback: number) => z._default(z.coerce.number().check(z.int(), z.positive()), fallback);
const wholeOrZero = (fallback: number) =>
  z._default(z.coerce.number().check(z.int(), z.nonnegative()), fallback);

const kmsKeyArn = z
  .string()
  .check(
    z.regex(
      /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/\S+$/,
      "a KMS key ARN, arn:aws:kms:<region>:<account>:key/<id>",
    ),
  );

const envSchema = z.object({
  CLUSTER_NAME: z
    .string()
    .check(z.regex(/^[A-Za-z0-9._-]{1,128}$/, "letters, digits, '.', '_' or '-', at most 128")),
  ASG_NAME: name,
  LEDGER_TABLE: name,
  LAUNCH_HOOK_NAME: name,
  TERMINATE_HOOK_NAME: name,
  CLUSTER_SIZE: z.coerce.number().check(z.int()),
  JOIN_STRATEGY: z._default(z.string(), "replace"),
  ETCD_CLIENT_PORT: integer(2379),
  ETCD_PEER_PORT: integer(2380),
  ETCD_DATA_DIR: z._default(z.string().check(z.startsWith("/")), "/var/lib/etcd"),
  LEARNER_READY_TIMEOUT_SECONDS: integer(600),
  LOCK_TTL_SECONDS: integer(LOCK_TTL_SECONDS),
  LOCK_WAIT_SECONDS: integer(LOCK_WAIT_SECONDS),
  REFUSAL_WAIT_SECONDS: integer(15),
  INSTANCE_ROLE_ARN: z
    .string()
    .check(
      z.regex(
        /^arn:aws[a-z-]*:iam::\d{12}:role\/\S+$/,
        "the node role's ARN, e.g. arn:aws:iam::123456789012:role/etcd-node",
      ),
    ),
  PEER_CA_KEY_ARN: kmsKeyArn,
  CLIENT_CA_KEY_ARN: kmsKeyArn,
  NODE_CERTIFICATE_LIFETIME_SECONDS: integer(7 * 24 * 3600),
  CLIENT_DNS_NAME: z.optional(z.string().check(z.regex(/^[a-z0-9.-]{1,253}$/, "a DNS name"))),
  SNAPSHOT_BUCKET: z.optional(
    z.string().check(z.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "an S3 bucket name")),
  ),
  SNAPSHOT_FUNCTION_NAME: z.optional(name),
  SNAPSHOT_INTERVAL_SECONDS: integer(DEFAULT_SNAPSHOT_INTERVAL_MS / 1000),
  SNAPSHOT_RETENTION: z._default(z.string(), formatRetention(DEFAULT_RETENTION)),
  QUORUM_LOSS_THRESHOLD_SECONDS: integer(DEFAULT_QUORUM_LOSS_THRESHOLD_MS / 1000),
  DISASTER_RECOVERY: z._default(z.enum(DISASTER_RECOVERY_MODES), "automatic"),
  ETCD_VERSION: z.optional(z.string()),
  SNAPSHOT_BEFORE_REMOVAL_WAIT_SECONDS: z._default(z.coerce.number().check(z.int(), z.gte(0)), 20),
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: z.optional(z.coerce.number().check(z.int(), z.positive())),
  HOSTED_ZONE_ID: z.optional(
    z
      .string()
      .check(
        z.regex(
          /^(\/hostedzone\/)?Z[A-Z0-9]{1,32}$/,
          "a Route 53 hosted zone ID, e.g. Z0123456789ABCDEFGHIJ",
        ),
      ),
  ),
  HEALTH_GRACE_SECONDS: integer(180),
  HEALTH_WARMUP_SECONDS: wholeOrZero(300),
  RECONCILE_PERIOD_SECONDS: integer(60),
  DATA_VOLUME_GIB: integer(20),
  COMPACTION_RETENTION_MINUTES: integer(60),
  DEFRAG_TIMEOUT_SECONDS: integer(120),
  // Unset in the stack (the quota follows DATA_VOLUME_GIB); a test or the simulator sets it to fill a
  // member in seconds. Published to the nodes and read by upkeep alike.
  QUOTA_BACKEND_BYTES_OVERRIDE: z.optional(
    z.coerce.number().check(z.int(), z.gte(MIB), z.lte(MAX_QUOTA_BACKEND_BYTES)),
  ),
});

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? "environment");
    throw new ConfigError(
      `environment variable ${variable} is invalid: ${issue?.message ?? "unknown problem"}`,
    );
  }
  const e = parsed.data;
  let policy: Policy;
  try {
    policy = validatePolicy({
      clusterSize: e.CLUSTER_SIZE,
      strategy: e.JOIN_STRATEGY,
      // No plaintext mode: every etcd connection is mutual TLS.
      peerScheme: "https",
      peerPort: e.ETCD_PEER_PORT,
      clientPort: e.ETCD_CLIENT_PORT,
      learnerReadyTimeoutMs: e.LEARNER_READY_TIMEOUT_SECONDS * 1000,
    });
  } catch (error) {
    if (error instanceof InvalidPolicyError) {
      throw new ConfigError(`CLUSTER_SIZE / JOIN_STRATEGY: ${error.message}`, { cause: error });
    }
    throw error;
  }
  if (e.HOSTED_ZONE_ID !== undefined && e.CLIENT_DNS_NAME === undefined) {
    throw new ConfigError(
      "environment variable CLIENT_DNS_NAME is invalid: required with HOSTED_ZONE_ID (the name whose records the control plane keeps in that zone)",
    );
  }
  return {
    ...maintenanceSettings(e),
    clusterName: e.CLUSTER_NAME,
    asgName: e.ASG_NAME,
    ledgerTable: e.LEDGER_TABLE,
    launchHookName: e.LAUNCH_HOOK_NAME,
    terminateHookName: e.TERMINATE_HOOK_NAME,
    policy,
    dataDir: e.ETCD_DATA_DIR,
    lockTtlMs: e.LOCK_TTL_SECONDS * 1000,
    lockWaitMs: e.LOCK_WAIT_SECONDS * 1000,
    refusalWaitMs: e.REFUSAL_WAIT_SECONDS * 1000,
    instanceRoleArn: e.INSTANCE_ROLE_ARN,
    pki: {
      peerCaKeyArn: e.PEER_CA_KEY_ARN,
      clientCaKeyArn: e.CLIENT_CA_KEY_ARN,
      nodeCertificateLifetimeMs: e.NODE_CERTIFICATE_LIFETIME_SECONDS * 1000,
      clientDnsName: e.CLIENT_DNS_NAME,
    },
    clientEndpoint:
      e.HOSTED_ZONE_ID === undefined || e.CLIENT_DNS_NAME === undefined
        ? undefined
        : { hostedZoneId: e.HOSTED_ZONE_ID.replace(/^\/hostedzone\//, ""), name: e.CLIENT_DNS_NAME },
    durability: durabilityConfig(e),
  };
}

function durabilityConfig(e: z.infer<typeof envSchema>): DurabilityConfig {
  let retention: RetentionTier[];
  try {
    retention = parseRetention(e.SNAPSHOT_RETENTION);
  } catch (error) {
    if (!(error instanceof InvalidRetentionError)) throw error;
    throw new ConfigError(`environment variable SNAPSHOT_RETENTION is invalid: ${error.message}`);
  }
  let etcdVersion: EtcdVersion | undefined;
  try {
    etcdVersion = e.ETCD_VERSION === undefined ? undefined : parseEtcdVersion(e.ETCD_VERSION);
  } catch (error) {
    if (!(error instanceof InvalidEtcdVersionError)) throw error;
    throw new ConfigError(`environment variable ETCD_VERSION is invalid: ${error.message}`);
  }
  return {
    bucket: e.SNAPSHOT_BUCKET,
    snapshotFunctionName: e.SNAPSHOT_FUNCTION_NAME,
    intervalMs: e.SNAPSHOT_INTERVAL_SECONDS * 1000,
    retention,
    quorumLossThresholdMs: e.QUORUM_LOSS_THRESHOLD_SECONDS * 1000,
    mode: e.DISASTER_RECOVERY,
    etcdVersion,
    beforeRemovalWaitMs: e.SNAPSHOT_BEFORE_REMOVAL_WAIT_SECONDS * 1000,
    functionMemoryMb: e.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
  };
}

/** The health policy and etcd's storage settings, each failing with the variables it comes from. */
function maintenanceSettings(
  e: z.infer<typeof envSchema>,
): Pick<Config, "health" | "storage" | "defragmentTimeoutMs"> {
  let health: HealthPolicy;
  try {
    health = healthPolicy({
      graceMs: e.HEALTH_GRACE_SECONDS * 1000,
      warmupMs: e.HEALTH_WARMUP_SECONDS * 1000,
      reconcilePeriodMs: e.RECONCILE_PERIOD_SECONDS * 1000,
    });
  } catch (error) {
    if (!(error instanceof InvalidHealthPolicyError)) throw error;
    throw new ConfigError(
      `HEALTH_GRACE_SECONDS (${e.HEALTH_GRACE_SECONDS}) / RECONCILE_PERIOD_SECONDS (${e.RECONCILE_PERIOD_SECONDS}): ${error.message}`,
      { cause: error },
    );
  }
  let storage: EtcdStorageSettings;
  try {
    storage = etcdStorageSettings(e.DATA_VOLUME_GIB, e.COMPACTION_RETENTION_MINUTES);
  } catch (error) {
    if (!(error instanceof InvalidStorageInputError)) throw error;
    throw new ConfigError(
      `DATA_VOLUME_GIB (${e.DATA_VOLUME_GIB}) / COMPACTION_RETENTION_MINUTES (${e.COMPACTION_RETENTION_MINUTES}): ${error.message}`,
      { cause: error },
    );
  }
  const quota = e.QUOTA_BACKEND_BYTES_OVERRIDE;
  return {
    health,
    storage: quota === undefined ? storage : { ...storage, quotaBackendBytes: quota },
    defragmentTimeoutMs: e.DEFRAG_TIMEOUT_SECONDS * 1000,
  };
}
