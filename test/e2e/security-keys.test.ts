// Where the certificate authorities' keys are, and who may use them (issue 14), on the simulator run
// from the synthesized template with IAM enforced: no CA private key in the ledger, in a function's
// environment or code, or anywhere the stack publishes; certificates are signed by KMS Sign; the key
// policies let only the issuing roles sign (not even an administrator); and the node API cannot be
// invoked around its function URL with a forged caller.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { KMSClient, SignCommand } from "@aws-sdk/client-kms";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import type { Simulator } from "../../local/simulator/simulator";
import { startSimulator } from "./simulator-bed";

/** A PEM private key block of any kind. */
const PRIVATE_KEY_PEM =
  /-----BEGIN [A-Z ]*PRIVATE KEY-----\s+[A-Za-z0-9+/=\s]{40,}-----END [A-Z ]*PRIVATE KEY-----/;

test("CA keys stay in KMS: none in the ledger or the functions, KMS signs, only issuing roles may sign, no forged node API call", async (t) => {
  const sim = await startSimulator(t, { size: 3 });
  await sim.waitConverged(120_000);
  await sim.etcdTls();

  await t.test("no private key in the ledger, in any function's environment or code", async () => {
    const ledger = new DynamoDBClient({
      endpoint: sim.services.endpoints.AWS_ENDPOINT_URL_DYNAMODB,
      region: "us-east-1",
      credentials: sim.iam.operator,
    });
    try {
      const { Items = [] } = await ledger.send(new ScanCommand({ TableName: sim.stack.table.name }));
      const text = JSON.stringify(Items);
      assert.match(text, /BEGIN CERTIFICATE/, "the CA certificates are published in the ledger");
      assert.doesNotMatch(text, PRIVATE_KEY_PEM);
    } finally {
      ledger.destroy();
    }
    for (const fn of sim.stack.functions) {
      assert.doesNotMatch(JSON.stringify(fn.environment), PRIVATE_KEY_PEM, `${fn.role}'s environment`);
      for (const file of filesUnder(fn.codeDir)) {
        assert.doesNotMatch(readFileSync(file, "utf8"), PRIVATE_KEY_PEM, `${fn.role}'s ${file}`);
      }
    }
    assert.ok((sim.services.kms.callCounts().Sign ?? 0) > 0, "certificates were signed by KMS Sign");
  });

  await t.test(
    "the key policies let only the issuing roles sign: not an administrator, not another role",
    async () => {
      const key = (kind: "Peer" | "Client") =>
        sim.stack.kmsKeys.find((k) => k.logicalId.includes(`${kind}CaKey`))?.arn;
      const role = (name: string) => sim.stack.functions.find((f) => f.role === name)?.roleArn ?? "";
      const sign = async (
        credentials: { accessKeyId: string; secretAccessKey: string },
        keyArn: string | undefined,
      ) => {
        const kms = new KMSClient({
          endpoint: sim.services.endpoints.AWS_ENDPOINT_URL_KMS,
          region: "us-east-1",
          credentials,
          maxAttempts: 1,
        });
        try {
          await kms.send(
            new SignCommand({
              KeyId: keyArn,
              Message: new Uint8Array(32),
              MessageType: "DIGEST",
              SigningAlgorithm: "ECDSA_SHA_256",
            }),
          );
          return "signed";
        } catch (error) {
          return (error as Error).name;
        } finally {
          kms.destroy();
        }
      };
      assert.equal(await sign(sim.iam.operator, key("Client")), "AccessDeniedException", "an administrator");
      assert.equal(await sign(sim.iam.operator, key("Peer")), "AccessDeniedException", "an administrator");
      assert.equal(
        await sign(sim.iam.assumeRole(role("launch-hook"), "test"), key("Peer")),
        "AccessDeniedException",
      );
      assert.equal(
        await sign(sim.iam.assumeRole(role("client-cert"), "test"), key("Peer")),
        "AccessDeniedException",
      );
      assert.equal(
        await sign(sim.iam.assumeRole(sim.stack.instanceRoleArn, "i-0123456789abcdef0"), key("Client")),
        "AccessDeniedException",
        "a node",
      );
      assert.equal(await sign(sim.iam.assumeRole(role("node-api"), "test"), key("Peer")), "signed");
      assert.equal(await sign(sim.iam.assumeRole(role("launch-hook"), "test"), key("Client")), "signed");
    },
  );

  await t.test("a node invoking the node API directly with a forged caller is refused by IAM", async () => {
    const [me, victim] = sim.instances("InService");
    assert.ok(me && victim);
    const lambda = new LambdaClient({
      endpoint: sim.services.lambdaApi,
      region: "us-east-1",
      credentials: sim.node(me.id).options.credentials,
      maxAttempts: 1,
    });
    try {
      const forged = forgedCertificateRequest(sim, victim.id);
      const nodeApi = sim.stack.functions.find((f) => f.role === "node-api")?.name;
      await assert.rejects(
        lambda.send(new InvokeCommand({ FunctionName: nodeApi, Payload: JSON.stringify(forged) })),
        (error: Error) =>
          error.name === "AccessDeniedException" &&
          /is not authorized to perform: lambda:InvokeFunction/.test(error.message),
      );
    } finally {
      lambda.destroy();
    }
  });
});

/** A function-URL-shaped event claiming to come from `victim`'s instance role. */
function forgedCertificateRequest(sim: Simulator, victim: string): unknown {
  const role = sim.stack.instanceRoleArn.split("/").at(-1);
  return {
    version: "2.0",
    rawPath: `/v1/nodes/${victim}/certificates`,
    requestContext: {
      http: { method: "POST" },
      authorizer: { iam: { userArn: `arn:aws:sts::123456789012:assumed-role/${role}/${victim}` } },
    },
    body: "-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n",
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}
