// The part of a container's runtime (app/runtime.ts) that every function builds, and all that the
// client certificate function builds: configuration read and validated from the environment, the
// logger, the AWS endpoints and region, the ledger's document client, the PKI. Apart so that a
// bundle whose handler needs no more leaves out the Auto Scaling, EC2 and etcd code (half its
// init: the EC2 client alone is most of a bundle).
import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { LedgerOptions } from "../adapters/ledger/ledger";
import { type Config, loadConfig } from "../config";
import { ControlPlanePki } from "./pki";

const LOG_LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", "SILENT"] as const;

/** Powertools reads its level from process.env; an injected environment must say it explicitly. */
function logLevel(value: string | undefined): (typeof LOG_LEVELS)[number] {
  const level = LOG_LEVELS.find((l) => l === value?.toUpperCase());
  return level ?? "INFO";
}

export interface RuntimeBase {
  readonly config: Config;
  readonly logger: Logger;
  /** A service's endpoint: AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL, else the SDK's. */
  readonly endpoint: (service: string) => string | undefined;
  readonly region: string | undefined;
  readonly ledgerOptions: LedgerOptions;
  readonly pki: ControlPlanePki;
}

export function createRuntimeBase(env: NodeJS.ProcessEnv = process.env): RuntimeBase {
  const config = loadConfig(env);
  const logger = new Logger({
    serviceName: env.POWERTOOLS_SERVICE_NAME ?? "etcd-asg",
    logLevel: logLevel(env.POWERTOOLS_LOG_LEVEL),
    persistentKeys: { clusterName: config.clusterName },
  });
  const endpoint = (service: string) => env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const ledgerOptions = {
    client: DynamoDBDocumentClient.from(new DynamoDBClient({ region, endpoint: endpoint("DYNAMODB") })),
    tableName: config.ledgerTable,
    clusterName: config.clusterName,
  };
  let kms: Promise<import("@aws-sdk/client-kms").KMSClient> | undefined;
  const pki = new ControlPlanePki({
    clusterName: config.clusterName,
    // The KMS client loads on the first certificate: most invocations need none.
    kms: () => {
      kms ??= import("../adapters/kms").then(
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
  return { config, logger, endpoint, region, ledgerOptions, pki };
}
