// The local servers a cold-started bundle talks to: a DynamoDB-compatible server with the ledger
// table, a local KMS holding the two CA keys, and the AWS emulator with a group of 3 whose launch and
// terminate lifecycle events are captured — so each bundle handles a real event of its kind, and the
// environment a Lambda would get.
import { randomUUID } from "node:crypto";
import { AwsEmulator } from "../../local/aws/emulator";
import type { LifecycleEvent } from "../../local/aws/types";
import { localDynamoDbClients } from "../../local/dynamodb/clients";
import { createLedgerTable } from "../../local/dynamodb/ledger-table";
import { startLocalDynamoDb } from "../../local/dynamodb/server";
import { newKeyAndCsr } from "../../local/key-and-csr";
import { KmsEmulator } from "../../local/kms/server";
import { reserveLoopbackBlock } from "../../test/helpers/etcd/loopback";
import { pollUntil } from "../measure";

const ASG = "etcd-asg-bench";
const LAUNCH_HOOK = "etcd-asg-launch";
const TERMINATE_HOOK = "etcd-asg-terminate";
const NODE_ROLE = "etcd-node";

export interface LocalServers {
  readonly env: Record<string, string>;
  /** One event per function, as it arrives in Lambda. */
  readonly events: Record<
    "launch-hook" | "terminate-hook" | "node-api" | "reconciler" | "client-cert" | "snapshot",
    unknown
  >;
  stop(): Promise<void>;
}

export async function startLocalServers(): Promise<LocalServers> {
  const block = reserveLoopbackBlock();
  const dynamo = await startLocalDynamoDb();
  const emulator = new AwsEmulator({ privateIps: { first: block.address(11), last: block.address(60) } });
  const kms = new KmsEmulator({ region: "us-east-1", account: "123456789012" });
  const stop = async () => {
    await emulator.stop();
    await kms.stop();
    await dynamo.stop();
    block.release();
  };
  try {
    const endpoint = await emulator.start();
    const kmsEndpoint = await kms.start();
    const caKey = () => kms.createKey({ keySpec: "ECC_NIST_P256", keyUsage: "SIGN_VERIFY" }).Arn;
    const table = "etcd-asg-bench-ledger";
    const clients = localDynamoDbClients(dynamo.endpoint);
    await createLedgerTable(clients.client, table);
    clients.destroy();
    const captured: LifecycleEvent[] = [];
    emulator.onLifecycleEvent((event) => {
      captured.push(event);
    });
    const hook = { heartbeatTimeoutMs: 600_000 };
    const group = emulator.createAutoScalingGroup({
      name: ASG,
      minSize: 0,
      maxSize: 5,
      desiredCapacity: 3,
      availabilityZones: ["us-east-1a"],
      lifecycleHooks: [
        {
          ...hook,
          name: LAUNCH_HOOK,
          transition: "autoscaling:EC2_INSTANCE_LAUNCHING",
          defaultResult: "ABANDON",
        },
        {
          ...hook,
          name: TERMINATE_HOOK,
          transition: "autoscaling:EC2_INSTANCE_TERMINATING",
          defaultResult: "CONTINUE",
        },
      ],
    });
    await pollUntil("launch events", () => captured.length >= 3, 10_000);
    const [first, , third] = group.instances();
    if (first === undefined || third === undefined) throw new Error("the group launched no instances");
    group.terminateInstance(third.id, true);
    await pollUntil("a terminate event", () => captured.length >= 4, 10_000);
    const launch = captured.find((e) => e["detail-type"] === "EC2 Instance-launch Lifecycle Action");
    const terminate = captured.find((e) => e["detail-type"] === "EC2 Instance-terminate Lifecycle Action");
    return {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        AWS_REGION: "us-east-1",
        AWS_ACCESS_KEY_ID: "ASIALAMBDAEXECROLE00",
        AWS_SECRET_ACCESS_KEY: "local-lambda-execution-role",
        AWS_SESSION_TOKEN: "local",
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        AWS_ENDPOINT_URL_AUTO_SCALING: endpoint,
        AWS_ENDPOINT_URL_EC2: endpoint,
        AWS_ENDPOINT_URL_KMS: kmsEndpoint,
        PEER_CA_KEY_ARN: caKey(),
        CLIENT_CA_KEY_ARN: caKey(),
        CLUSTER_NAME: `bench-${randomUUID().slice(0, 8)}`,
        ASG_NAME: ASG,
        LEDGER_TABLE: table,
        LAUNCH_HOOK_NAME: LAUNCH_HOOK,
        TERMINATE_HOOK_NAME: TERMINATE_HOOK,
        CLUSTER_SIZE: "3",
        POWERTOOLS_LOG_LEVEL: "WARN",
        INSTANCE_ROLE_ARN: `arn:aws:iam::123456789012:role/${NODE_ROLE}`,
      },
      events: {
        "launch-hook": launch,
        "terminate-hook": terminate,
        "node-api": nodeApiConfigRequest(first.id),
        reconciler: { source: "aws.events", "detail-type": "Scheduled Event", detail: {} },
        "client-cert": { user: "bench", csr: newKeyAndCsr("bench").csrPem },
        // No cluster has formed: a scheduled run skips, after reading the ledger.
        snapshot: { source: "aws.events", "detail-type": "Scheduled Event", detail: {} },
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** GET /v1/nodes/<id>/config through a function URL with AWS_IAM auth (payload format 2.0). */
function nodeApiConfigRequest(instanceId: string): unknown {
  return {
    version: "2.0",
    rawPath: `/v1/nodes/${instanceId}/config`,
    queryStringParameters: { format: "env" },
    requestContext: {
      http: { method: "GET" },
      authorizer: { iam: { userArn: `arn:aws:sts::123456789012:assumed-role/${NODE_ROLE}/${instanceId}` } },
    },
  };
}
