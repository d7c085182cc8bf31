// Builds the control plane's runtime once per Lambda container (module scope): on top of the base
// every function builds (app/runtime-base.ts: configuration, logger, ledger client, PKI), the Auto
// Scaling and EC2 clients, the ledger, the etcd client factory (whose clients the adapters of an
// invocation share).
// AWS endpoints follow the standard AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL variables, read
// from the same environment, so tests and the simulator point the clients at local servers.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { EC2Client } from "@aws-sdk/client-ec2";
import { AutoScalingGroupAdapter } from "../adapters/aws";
import { EtcdEndpointPool, EtcdMembership } from "../adapters/etcd";
import { EtcdMaintenance } from "../adapters/etcd/maintenance";
import { Ledger } from "../adapters/ledger/ledger";
import { MemberHealthLedger } from "../adapters/ledger/member-health";
import { UpkeepRunLedger } from "../adapters/ledger/upkeep-runs";
import type { HostedZonePort, Runtime } from "./ports";
import { createRuntimeBase } from "./runtime-base";
import { metricSignals } from "./signals";

export function createRuntime(env: NodeJS.ProcessEnv = process.env): Runtime {
  const { config, logger, endpoint, region, ledgerOptions, pki } = createRuntimeBase(env);
  const actor = `etcd-asg-${randomUUID()}`;
  const group = new AutoScalingGroupAdapter(
    {
      autoScaling: new AutoScalingClient({ region, endpoint: endpoint("AUTO_SCALING") }),
      ec2: new EC2Client({ region, endpoint: endpoint("EC2") }),
    },
    config.asgName,
  );
  // The membership adapters of an invocation share their etcd connections (adapters/etcd/endpoint-pool.ts).
  const etcdClients = new EtcdEndpointPool(() => pki.identity());
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
    etcd: (endpoints, leader) => new EtcdMembership({ endpoints, leader, pool: etcdClients }),
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
