// Builds the control plane's runtime once per Lambda container (module scope): configuration read
// and validated from the environment, the logger, SDK clients, the ledger, the etcd client factory.
// AWS endpoints follow the standard AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL variables, read
// from the same environment, so tests and the simulator point the clients at local servers.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Logger } from "@aws-lambda-powertools/logger";
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EC2Client } from "@aws-sdk/client-ec2";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { AutoScalingGroupAdapter } from "../adapters/aws";
import { EtcdMembership } from "../adapters/etcd";
import { DurabilityLedger } from "../adapters/ledger/durability";
import { Ledger, type LedgerOptions } from "../adapters/ledger/ledger";
import { MemberHealthLedger } from "../adapters/ledger/member-health";
import type { SnapshotStore } from "../adapters/snapshots";
import { type Config, ConfigError, loadConfig } from "../config";
import { EtcdAsgError } from "../errors";
import { ControlPlanePki } from "./pki";
import type { DurabilityPort, Runtime, SnapshotRequest } from "./ports";
import { metricSignals } from "./signals";

const LOG_LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", "SILENT"] as const;

/** Powertools reads its level from process.env; an injected environment must say it explicitly. */
function logLevel(value: string | undefined): (typeof LOG_LEVELS)[number] {
  const level = LOG_LEVELS.find((l) => l === value?.toUpperCase());
  return level ?? "INFO";
}

export function createRuntime(env: NodeJS.ProcessEnv = process.env): Runtime {
  const config = loadConfig(env);
  const actor = `etcd-asg-${randomUUID()}`;
  const logger = new Logger({
    serviceName: env.POWERTOOLS_SERVICE_NAME ?? "etcd-asg",
    logLevel: logLevel(env.POWERTOOLS_LOG_LEVEL),
    persistentKeys: { clusterName: config.clusterName },
  });
  const endpoint = (service: string) => env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const dynamo = new DynamoDBClient({ region, endpoint: endpoint("DYNAMODB") });
  const group = new AutoScalingGroupAdapter(
    {
      autoScaling: new AutoScalingClient({ region, endpoint: endpoint("AUTO_SCALING") }),
      ec2: new EC2Client({ region, endpoint: endpoint("EC2") }),
    },
    config.asgName,
  );
  const ledgerOptions = {
    client: DynamoDBDocumentClient.from(dynamo),
    tableName: config.ledgerTable,
    clusterName: config.clusterName,
  };
  let kms: Promise<import("@aws-sdk/client-kms").KMSClient> | undefined;
  const pki = new ControlPlanePki({
    clusterName: config.clusterName,
    // The KMS client loads on the first certificate: most invocations need none.
    kms: () => {
      kms ??= import("@aws-sdk/client-kms").then(
        ({ KMSClient }) => new KMSClient({ region, endpoint: endpoint("KMS") }),
      );
      return kms;
    },
    peerCaKeyArn: config.pki.peerCaKeyArn,
    clientCaKeyArn: config.pki.clientCaKeyArn,
    ledger: ledgerOptions,
    nodeCertificateLifetimeMs: config.pki.nodeCertificateLifetimeMs,
    clientDnsName: config.pki.clientDnsName,
    now: () => Date.now(),
  });
  return {
    config,
    logger,
    ledger: new Ledger(ledgerOptions),
    group,
    etcd: (endpoints) => new EtcdMembership({ endpoints, tls: () => pki.identity() }),
    pki,
    signals: metricSignals(config.clusterName, logger),
    now: () => Date.now(),
    newToken: () => `${config.clusterName}-${randomUUID()}`,
    // One holder name per runtime; each Lambda invocation replaces it with its request ID.
    actor: () => actor,
    sleep: (ms) => sleep(ms),
    durability: durabilityPort(config, ledgerOptions, { region, endpoint }),
  };
}

/** The snapshot function failed, or did not answer within the wait. */
export class SnapshotInvocationError extends EtcdAsgError {
  override readonly name = "SnapshotInvocationError";
}

interface AwsSettings {
  readonly region: string | undefined;
  readonly endpoint: (service: string) => string | undefined;
}

/** The S3 and Lambda clients load on first use: only the snapshot path needs them. */
function durabilityPort(config: Config, ledger: LedgerOptions, aws: AwsSettings): DurabilityPort {
  let store: Promise<SnapshotStore> | undefined;
  let lambda: Promise<import("@aws-sdk/client-lambda").LambdaClient> | undefined;
  const { bucket, snapshotFunctionName } = config.durability;
  return {
    ledger: new DurabilityLedger(ledger),
    store: () => {
      if (bucket === undefined) {
        return Promise.reject(
          new ConfigError("SNAPSHOT_BUCKET is not set: this function has no snapshot bucket"),
        );
      }
      store ??= Promise.all([import("@aws-sdk/client-s3"), import("../adapters/snapshots")]).then(
        ([{ S3Client }, { SnapshotStore }]) => {
          const endpoint = aws.endpoint("S3");
          // A local S3-compatible server is addressed path-style (AWS itself: virtual-hosted).
          const s3 = new S3Client({ region: aws.region, endpoint, forcePathStyle: endpoint !== undefined });
          return new SnapshotStore(s3, bucket, config.clusterName);
        },
      );
      store.catch(() => {
        store = undefined;
      });
      return store;
    },
    sightings: async () => (await new MemberHealthLedger(ledger).load()).sightings,
    invokeSnapshot: async (request: SnapshotRequest, waitMs: number) => {
      if (snapshotFunctionName === undefined) {
        throw new ConfigError("SNAPSHOT_FUNCTION_NAME is not set: this function cannot ask for a snapshot");
      }
      lambda ??= import("@aws-sdk/client-lambda").then(
        ({ LambdaClient }) => new LambdaClient({ region: aws.region, endpoint: aws.endpoint("LAMBDA") }),
      );
      const [{ InvokeCommand }, client] = await Promise.all([import("@aws-sdk/client-lambda"), lambda]);
      const payload = JSON.stringify(request);
      const asynchronous = waitMs <= 0;
      let answer: import("@aws-sdk/client-lambda").InvokeCommandOutput;
      try {
        answer = await client.send(
          new InvokeCommand({
            FunctionName: snapshotFunctionName,
            InvocationType: asynchronous ? "Event" : "RequestResponse",
            Payload: payload,
          }),
          asynchronous ? {} : { abortSignal: AbortSignal.timeout(waitMs) },
        );
      } catch (error) {
        throw new SnapshotInvocationError(
          `invoking ${snapshotFunctionName} with ${payload} failed: ${(error as Error).message}`,
          { cause: error, retryable: true },
        );
      }
      if (asynchronous) return undefined;
      const text = Buffer.from(answer.Payload ?? new Uint8Array()).toString("utf8");
      const result: unknown = text === "" ? null : JSON.parse(text);
      if (answer.FunctionError !== undefined) {
        const message = (result as { errorMessage?: string } | null)?.errorMessage ?? text;
        throw new SnapshotInvocationError(`${snapshotFunctionName} failed: ${message}`, { retryable: true });
      }
      return result;
    },
  };
}
