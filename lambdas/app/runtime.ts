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
import { EtcdMaintenance } from "../adapters/etcd/maintenance";
import { Ledger } from "../adapters/ledger/ledger";
import { MemberHealthLedger } from "../adapters/ledger/member-health";
import { UpkeepRunLedger } from "../adapters/ledger/upkeep-runs";
import { loadConfig } from "../config";
import { ControlPlanePki } from "./pki";
import type { HostedZonePort, Runtime } from "./ports";
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
  let zone: Promise<HostedZonePort> | undefined;
  const { clientEndpoint } = config;
  // The Route 53 client loads on the first sync: launches, node API config calls and client
  // certificates never need it.
  const hostedZone =
    clientEndpoint === undefined
      ? undefined
      : () => {
          zone ??= import("../adapters/route53").then(
            ({ Route53Client, HostedZoneAdapter }) =>
              new HostedZoneAdapter(
                new Route53Client({ region, endpoint: endpoint("ROUTE_53") }),
                clientEndpoint.hostedZoneId,
              ),
          );
          return zone;
        };
  return {
    config,
    logger,
    ledger: new Ledger(ledgerOptions),
    group,
    etcd: (endpoints) => new EtcdMembership({ endpoints, tls: () => pki.identity() }),
    maintenance: (endpoints) =>
      new EtcdMaintenance({
        endpoints,
        tls: () => pki.identity(),
        defragmentTimeoutMs: config.defragmentTimeoutMs,
      }),
    memberHealth: new MemberHealthLedger(ledgerOptions),
    upkeepRuns: new UpkeepRunLedger(ledgerOptions),
    pki,
    hostedZone,
    signals: metricSignals(config.clusterName, logger),
    now: () => Date.now(),
    newToken: () => `${config.clusterName}-${randomUUID()}`,
    // One holder name per runtime; each Lambda invocation replaces it with its request ID.
    actor: () => actor,
    sleep: (ms) => sleep(ms),
  };
}
