// The IAM gate in front of KMS and Route 53 (the local servers' authorize hooks) and a Lambda function
// URL (through the gate proxy, in front of a stand-in that checks nothing), driven by the real SDK clients
// and curl --aws-sigv4: KMS key policies decide with the caller's identity policies, a Route 53 change
// is held to the record names its policy allows, and a function URL answers Forbidden to a caller
// its policies do not let invoke it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { CreateAliasCommand, GetPublicKeyCommand, KMSClient, SignCommand } from "@aws-sdk/client-kms";
import { ChangeResourceRecordSetsCommand, Route53Client } from "@aws-sdk/client-route-53";
import { CredentialStore, type Credentials } from "../../local/iam/credentials";
import { createGate, type Gate } from "../../local/iam/gate";
import { type GateProxy, startGateProxy } from "../../local/iam/gate-proxy";
import { kmsFront } from "../../local/iam/kms";
import { functionUrlFront } from "../../local/iam/lambda-url";
import { administrator, type NamedPolicy, type PolicyDocument, PolicySet } from "../../local/iam/policies";
import { route53Front } from "../../local/iam/route53";
import { KmsEmulator } from "../../local/kms/server";
import { Route53Emulator } from "../../local/route53/server";

const ACCOUNT = "123456789012";
const REGION = "us-east-1";
const ISSUER_ROLE = `arn:aws:iam::${ACCOUNT}:role/EtcdAsg-LaunchHookRole`;
const NODE_ROLE = `arn:aws:iam::${ACCOUNT}:role/EtcdAsg-NodeRole`;
const NODE_API = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:EtcdAsg-NodeApi`;

const allow = (name: string, statements: Record<string, unknown>[]): NamedPolicy => ({
  name,
  document: { Version: "2012-10-17", Statement: statements },
});

const credentials = new CredentialStore({ account: ACCOUNT });
const policies = new PolicySet({
  roles: [
    {
      roleArn: ISSUER_ROLE,
      policies: [
        allow("IssueCertificates", [
          {
            Effect: "Allow",
            Action: ["kms:Sign", "kms:GetPublicKey"],
            Resource: `arn:aws:kms:${REGION}:${ACCOUNT}:key/*`,
          },
        ]),
        allow("KeepTheName", [
          {
            Effect: "Allow",
            Action: "route53:ChangeResourceRecordSets",
            Resource: "arn:aws:route53:::hostedzone/*",
            Condition: {
              "ForAllValues:StringEquals": {
                "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["etcd.internal"],
              },
            },
          },
        ]),
      ],
    },
    {
      roleArn: NODE_ROLE,
      policies: [
        allow("CallTheNodeApi", [
          {
            Effect: "Allow",
            Action: "lambda:InvokeFunctionUrl",
            Resource: NODE_API,
            Condition: { StringEquals: { "lambda:FunctionUrlAuthType": "AWS_IAM" } },
          },
          {
            Effect: "Allow",
            Action: "lambda:InvokeFunction",
            Resource: NODE_API,
            Condition: { Bool: { "lambda:InvokedViaFunctionUrl": true } },
          },
        ]),
      ],
    },
  ],
  users: [administrator(credentials.operator.principal.arn)],
});
const gate: Gate = createGate({ callers: credentials, policies });

type Refused = Error & { $metadata: { httpStatusCode?: number } };
async function refusal(send: Promise<unknown>): Promise<Refused> {
  return send.then(
    () => assert.fail("the call was served"),
    (error: unknown) => error as Refused,
  );
}

/** A server that answers every request with `status` and `body`, checking nothing. */
async function standIn(
  status: number,
  contentType: string,
  body: string,
): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => response.writeHead(status, { "content-type": contentType }).end(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe("KMS behind the IAM gate", () => {
  let kms: KmsEmulator;
  let endpoint: string;
  const clients: KMSClient[] = [];
  const clientAs = (identity: Credentials) => {
    const client = new KMSClient({ endpoint, region: REGION, credentials: identity, maxAttempts: 1 });
    clients.push(client);
    return client;
  };
  let delegating: string;
  let foreign: string;

  before(async () => {
    const front = kmsFront({
      region: REGION,
      account: ACCOUNT,
      keyArn: (keyId) => kms.keyArn(keyId),
      keyPolicy: (keyArn) => JSON.parse(kms.keyPolicy(keyArn)) as PolicyDocument,
    });
    kms = new KmsEmulator({
      authorize: async (request) => {
        const verdict = await gate(request, front);
        return verdict.ok ? undefined : verdict.response;
      },
    });
    endpoint = await kms.start();
    delegating = kms.createKey({ keySpec: "ECC_NIST_P256", keyUsage: "SIGN_VERIFY" }).Arn;
    foreign = kms.createKey({
      keySpec: "ECC_NIST_P256",
      keyUsage: "SIGN_VERIFY",
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/Someone` },
            Action: "kms:*",
            Resource: "*",
          },
        ],
      }),
    }).Arn;
  });

  after(async () => {
    for (const client of clients) client.destroy();
    await kms.stop();
  });

  const sign = (client: KMSClient, KeyId: string) =>
    client.send(
      new SignCommand({
        KeyId,
        Message: Buffer.alloc(32, 1),
        MessageType: "DIGEST",
        SigningAlgorithm: "ECDSA_SHA_256",
      }),
    );

  test("signs for the issuing role when the key policy delegates to the account, by key ARN or alias", async () => {
    const issuer = clientAs(credentials.assumeRole(ISSUER_ROLE, "launch-hook"));
    const signed = await sign(issuer, delegating);
    assert.ok((signed.Signature?.length ?? 0) > 64);
    await clientAs(credentials.operator.credentials).send(
      new CreateAliasCommand({ AliasName: "alias/etcd-peer-ca", TargetKeyId: delegating }),
    );
    await sign(issuer, "alias/etcd-peer-ca");
    await issuer.send(new GetPublicKeyCommand({ KeyId: delegating }));
  });

  test("refuses a role without kms:Sign with AccessDeniedException naming the key", async () => {
    const node = clientAs(credentials.assumeRole(NODE_ROLE, "i-0123456789abcdef0"));
    const error = await refusal(sign(node, delegating));
    assert.equal(error.name, "AccessDeniedException");
    assert.equal(error.$metadata.httpStatusCode, 400);
    assert.equal(
      error.message,
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/EtcdAsg-NodeRole/i-0123456789abcdef0 is not authorized to perform: kms:Sign on resource: ${delegating} because no identity-based policy allows the kms:Sign action`,
    );
  });

  test("refuses even an allowed role when the key policy neither names it nor delegates", async () => {
    const issuer = clientAs(credentials.assumeRole(ISSUER_ROLE, "launch-hook"));
    const error = await refusal(sign(issuer, foreign));
    assert.equal(error.name, "AccessDeniedException");
    assert.match(error.message, /because no resource-based policy allows the kms:Sign action$/);
  });

  test("refuses an access key nobody issued with UnrecognizedClientException", async () => {
    const error = await refusal(
      sign(clientAs({ accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "x" }), delegating),
    );
    assert.equal(error.name, "UnrecognizedClientException");
  });
});

describe("Route 53 behind the IAM gate", () => {
  let route53: Route53Emulator;
  let client: Route53Client;
  let zoneId: string;
  const change = (name: string) =>
    client.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: {
          Changes: [
            {
              Action: "UPSERT",
              ResourceRecordSet: {
                Name: name,
                Type: "A",
                TTL: 30,
                ResourceRecords: [{ Value: "127.0.0.1" }],
              },
            },
          ],
        },
      }),
    );

  before(async () => {
    const front = route53Front();
    route53 = new Route53Emulator({
      syncDelayMs: 0,
      authorize: async (request) => {
        const verdict = await gate(request, front);
        return verdict.ok ? undefined : verdict.response;
      },
    });
    client = new Route53Client({
      endpoint: await route53.start(),
      region: REGION,
      credentials: credentials.assumeRole(ISSUER_ROLE, "launch-hook"),
      maxAttempts: 1,
    });
    zoneId = route53.store.createHostedZone({
      name: "etcd.internal",
      callerReference: "iam-gate-test",
      vpc: undefined,
      comment: undefined,
      privateZone: false,
    }).zone.id;
  });

  after(async () => {
    client.destroy();
    await route53.stop();
  });

  test("serves a change of the record name the policy allows", async () => {
    const answer = await change("Etcd.Internal.");
    assert.match(answer.ChangeInfo?.Id ?? "", /^\/change\//);
  });

  test("refuses a change of another name with AccessDenied", async () => {
    const error = await refusal(change("other.etcd.internal."));
    assert.equal(error.name, "AccessDenied");
    assert.equal(error.$metadata.httpStatusCode, 403);
    assert.match(
      error.message,
      new RegExp(
        `is not authorized to perform: route53:ChangeResourceRecordSets on resource: arn:aws:route53:::hostedzone/${zoneId} because no identity-based policy allows`,
      ),
    );
  });
});

describe("a function URL behind the IAM gate", () => {
  let fn: { server: Server; url: string };
  let proxy: GateProxy;

  before(async () => {
    fn = await standIn(200, "application/json", '{"config":"ok"}');
    proxy = await startGateProxy({
      gate,
      front: functionUrlFront({ region: REGION, functionArn: NODE_API }),
      upstream: fn.url,
    });
  });

  after(async () => {
    await proxy.stop();
    await close(fn.server);
  });

  /** curl --aws-sigv4 as the boot script calls the node API; answers status, headers and body. */
  async function call(identity: Credentials): Promise<{ status: number; head: string; body: string }> {
    const { stdout } = await promisify(execFile)("curl", [
      "-sS",
      "-i",
      "--aws-sigv4",
      `aws:amz:${REGION}:lambda`,
      "--user",
      `${identity.accessKeyId}:${identity.secretAccessKey}`,
      ...(identity.sessionToken === undefined
        ? []
        : ["-H", `x-amz-security-token: ${identity.sessionToken}`]),
      `${proxy.endpoint}/v1/nodes/i-0123456789abcdef0/config?format=env`,
    ]);
    const [head = "", body = ""] = stdout.split("\r\n\r\n", 2);
    return { status: Number(head.split(" ")[1]), head: head.toLowerCase(), body };
  }

  test("passes the node's signed call through to the function", async () => {
    const answer = await call(credentials.assumeRole(NODE_ROLE, "i-0123456789abcdef0"));
    assert.deepEqual([answer.status, answer.body], [200, '{"config":"ok"}']);
  });

  test("answers Forbidden to a caller its policies do not let invoke the function", async () => {
    const answer = await call(credentials.assumeRole(ISSUER_ROLE, "launch-hook"));
    assert.equal(answer.status, 403);
    assert.match(answer.head, /x-amzn-errortype: accessdeniedexception/);
    assert.deepEqual(JSON.parse(answer.body), {
      Message:
        "Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html",
    });
  });

  test("refuses a wrong secret with 403 InvalidSignatureException", async () => {
    const issued = credentials.assumeRole(NODE_ROLE, "i-0123456789abcdef0");
    const answer = await call({ ...issued, secretAccessKey: `${issued.secretAccessKey}x` });
    assert.equal(answer.status, 403);
    assert.match(answer.head, /x-amzn-errortype: invalidsignatureexception/);
  });
});
