// The built Lambda bundles are self-contained: the ones `npm run build` made (rebuilt first when
// stale) are copied into a folder outside the repository (so no node_modules can be found), loaded by a plain `node` of Lambda's runtime version with the
// environment a Lambda gets, and handles a real event against the local AWS emulator, dynalite and
// the local KMS. Code loaded on first use (lib/lazy.js, lib/sdk-credentials.js, lib/etcd-client.js)
// shares its classes with lib/index.js.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { AwsEmulator } from "../../local/aws/emulator";
import type { LifecycleEvent } from "../../local/aws/types";
import { withDirLock } from "../../local/dir-lock";
import { localDynamoDbClients } from "../../local/dynamodb/clients";
import { createLedgerTable } from "../../local/dynamodb/ledger-table";
import { startLocalDynamoDb } from "../../local/dynamodb/server";
import { newKeyAndCsr } from "../../local/key-and-csr";
import { KmsEmulator } from "../../local/kms/server";
import { BUILD_LOCK, BUNDLES_DIR, ensureBundles } from "../../local/simulator/bundles";
import { lambdaNodeBinary } from "../../local/simulator/lambda-runtime";
import { eventually } from "../helpers/control-plane-flows";

const run = promisify(execFile);
const INVOKE = `
const { handler } = require(process.argv[1]);
handler(JSON.parse(process.argv[2]), { awsRequestId: "bundle-test", getRemainingTimeInMillis: () => 55000 }).then(
  (result) => { process.stdout.write("\\nRESULT " + JSON.stringify(result) + "\\n"); process.exit(0); },
  (error) => { console.error(error); process.exit(1); },
);`;

describe("Lambda bundles", () => {
  const outside = mkdtempSync(join(tmpdir(), "etcd-asg-bundles-"));
  const emulator = new AwsEmulator({ privateIps: { first: "127.0.250.11", last: "127.0.250.20" } });
  const kms = new KmsEmulator({ region: "us-east-1", account: "123456789012" });
  const events: LifecycleEvent[] = [];
  let stopDynamo: () => Promise<void> = async () => {};
  let env: NodeJS.ProcessEnv = {};

  before(async () => {
    await ensureBundles();
    await withDirLock(BUILD_LOCK, async () =>
      cpSync(BUNDLES_DIR, join(outside, "lambdas"), { recursive: true }),
    );
    const dynamo = await startLocalDynamoDb();
    stopDynamo = dynamo.stop;
    const clients = localDynamoDbClients(dynamo.endpoint);
    await createLedgerTable(clients.client, "ledger");
    clients.destroy();
    const endpoint = await emulator.start();
    const kmsEndpoint = await kms.start();
    const caKey = () => kms.createKey({ keySpec: "ECC_NIST_P256", keyUsage: "SIGN_VERIFY" }).Arn;
    emulator.onLifecycleEvent((e) => {
      events.push(e);
    });
    emulator.createAutoScalingGroup({
      name: "bundle-asg",
      minSize: 0,
      maxSize: 3,
      desiredCapacity: 1,
      availabilityZones: ["us-east-1a"],
      lifecycleHooks: [
        { name: "launch", transition: "autoscaling:EC2_INSTANCE_LAUNCHING", heartbeatTimeoutMs: 120_000 },
        {
          name: "terminate",
          transition: "autoscaling:EC2_INSTANCE_TERMINATING",
          heartbeatTimeoutMs: 120_000,
        },
      ],
    });
    env = {
      PATH: process.env.PATH,
      CLUSTER_NAME: `bundles-${randomUUID().slice(0, 8)}`,
      ASG_NAME: "bundle-asg",
      LEDGER_TABLE: "ledger",
      LAUNCH_HOOK_NAME: "launch",
      TERMINATE_HOOK_NAME: "terminate",
      CLUSTER_SIZE: "3",
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "AKIDBUNDLETEST",
      AWS_SECRET_ACCESS_KEY: "bundle-test",
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_AUTO_SCALING: endpoint,
      AWS_ENDPOINT_URL_EC2: endpoint,
      AWS_ENDPOINT_URL_KMS: kmsEndpoint,
      POWERTOOLS_LOG_LEVEL: "ERROR",
      INSTANCE_ROLE_ARN: "arn:aws:iam::123456789012:role/node",
      PEER_CA_KEY_ARN: caKey(),
      CLIENT_CA_KEY_ARN: caKey(),
    };
  });

  after(async () => {
    emulator.group("bundle-asg").stop();
    await emulator.stop();
    await kms.stop();
    await stopDynamo();
    rmSync(outside, { recursive: true, force: true });
  });

  async function invoke(name: string, event: unknown): Promise<Record<string, unknown>> {
    const bundle = join(outside, "lambdas", name, "lib/index.js");
    const { stdout } = await run(
      lambdaNodeBinary("nodejs24.x"),
      ["-e", INVOKE, bundle, JSON.stringify(event)],
      {
        cwd: outside,
        env,
      },
    );
    // Logs and embedded-metric lines share stdout with the result.
    const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
    assert.ok(line, `no result in: ${stdout}`);
    return JSON.parse(line.slice("RESULT ".length));
  }

  test("launch-hook registers a launching instance", async () => {
    const [event] = await eventually("a launch event", () => (events.length > 0 ? events : undefined));
    const result = await invoke("launch-hook", event);
    assert.equal(result.status, "pending");
    assert.match(String(result.reason), /1 of 3 instances registered/);
  });

  test("node-api answers the instance about itself", async () => {
    const id = emulator.group("bundle-asg").instances()[0]?.id ?? "";
    const result = await invoke("node-api", {
      rawPath: `/v1/nodes/${id}/config`,
      queryStringParameters: { format: "env" },
      requestContext: {
        http: { method: "GET" },
        authorizer: { iam: { userArn: `arn:aws:sts::123456789012:assumed-role/node/${id}` } },
      },
    });
    assert.equal(result.statusCode, 202);
    assert.match(String(result.body), /ETCD_ASG_DECISION="wait"/);
  });

  test("an error class is one class across lib/index.js and lib/lazy.js: a malformed CSR gets 400", async () => {
    // The CSR is read by the X.509 code in lib/lazy.js, which throws CsrRejectedError; the node API
    // in lib/index.js answers 400 only if that is its own class (instanceof), and 500 otherwise.
    const id = emulator.group("bundle-asg").instances()[0]?.id ?? "";
    const result = await invoke("node-api", {
      rawPath: `/v1/nodes/${id}/certificates`,
      body: "-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgQ1NS\n-----END CERTIFICATE REQUEST-----\n",
      requestContext: {
        http: { method: "POST" },
        authorizer: { iam: { userArn: `arn:aws:sts::123456789012:assumed-role/node/${id}` } },
      },
    });
    assert.equal(result.statusCode, 400);
    assert.match(String(result.body), /not a PKCS#10 certificate request/);
  });

  test("terminate-hook rejects another group's event with a clear reason", async () => {
    const [event] = events;
    const foreign = {
      ...event,
      "detail-type": "EC2 Instance-terminate Lifecycle Action",
      detail: {
        ...event?.detail,
        AutoScalingGroupName: "other",
        LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
      },
    };
    const result = await invoke("terminate-hook", foreign);
    assert.equal(result.status, "rejected");
    assert.match(String(result.reason), /"other", not "bundle-asg"/);
  });

  test("reconciler runs a pass", async () => {
    const result = await invoke("reconciler", {});
    assert.equal(result.membership, "no cluster yet");
  });

  test("client-cert issues a user's certificate through KMS, loading the X.509 code from lib/lazy.js", async () => {
    const result = await invoke("client-cert", { user: "app1", csr: newKeyAndCsr("app1").csrPem });
    assert.match(String(result.certificate), /^-----BEGIN CERTIFICATE-----/);
    assert.match(String(result.ca), /^-----BEGIN CERTIFICATE-----/);
    assert.equal(result.user, "app1");
  });

  test("without credentials in its environment, the SDK's other providers load from lib/sdk-credentials.js and say so", async () => {
    // A Lambda's credentials are in its environment; the rest of the SDK's chain (files, SSO, IMDS:
    // disabled here, so nothing leaves the host) is in its own file, which must work when reached.
    const bundle = join(outside, "lambdas", "reconciler", "lib/index.js");
    const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...rest } = env;
    const error = await run(lambdaNodeBinary("nodejs24.x"), ["-e", INVOKE, bundle, "{}"], {
      cwd: outside,
      env: {
        ...rest,
        HOME: outside,
        AWS_CONFIG_FILE: join(outside, "no-config"),
        AWS_SHARED_CREDENTIALS_FILE: join(outside, "no-credentials"),
        AWS_EC2_METADATA_DISABLED: "true",
      },
    }).then(
      () => assert.fail("the reconciler ran without credentials"),
      (failure: { stderr: string }) => failure.stderr,
    );
    assert.match(error, /Could not load credentials from any providers/);
  });

  test("etcd's client loads from its own file and shares etcd3's recoverable tag with the handler", async () => {
    // An etcd that does not answer: etcd3 throws a recoverable error, which the handler's
    // translation (lambdas/adapters/etcd/translate.ts) must recognise across the two files.
    const lib = join(outside, "lambdas", "reconciler", "lib");
    const script = `
      const { Etcd3 } = require(${JSON.stringify(join(lib, "etcd-client.js"))});
      const { isRecoverableError } = require(${JSON.stringify(join(lib, "etcd3-errors.js"))});
      const client = new Etcd3({ hosts: "http://127.0.250.30:1", dialTimeout: 500 });
      client.get("k").string().then(
        () => process.exit(2),
        (error) => { process.stdout.write(String(isRecoverableError(error))); client.close(); },
      );`;
    const { stdout } = await run(lambdaNodeBinary("nodejs24.x"), ["-e", script], { cwd: outside, env });
    assert.equal(stdout, "true");
  });
});
