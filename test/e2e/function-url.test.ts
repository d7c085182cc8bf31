// The simulator's Lambda function URL (AWS_IAM auth) behind the IAM gate: a request signed by the AWS
// SDK's own SigV4 signer with an instance's session credentials, whose role may invoke the function
// through its URL, reaches the function as a payload-2.0 event naming the instance's assumed-role
// session; a role without that permission, a wrong secret, a missing session token or no signature
// at all is refused with 403 before the function runs.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SignatureV4 } from "@smithy/signature-v4";
import { CredentialStore } from "../../local/iam/credentials";
import { createGate } from "../../local/iam/gate";
import { PolicySet } from "../../local/iam/policies";
import { FunctionUrl } from "../../local/simulator/function-url";
import type { LambdaFunction } from "../../local/simulator/lambda-function";
import { Sha256 } from "../helpers/sigv4-hash";

const FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:node-api";
const NODE_ROLE = "arn:aws:iam::123456789012:role/etcd-asg-node";
const OTHER_ROLE = "arn:aws:iam::123456789012:role/not-a-node";
const INSTANCE_ID = "i-0123456789abcdef0";

describe("simulator function URL", () => {
  const store = new CredentialStore({ account: "123456789012" });
  // The node role's policy as CDK's grantInvokeUrl writes it.
  const invokeThroughUrl = {
    name: "InvokeNodeApi",
    document: {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Action: "lambda:InvokeFunctionUrl",
          Resource: FUNCTION_ARN,
          Condition: { StringEquals: { "lambda:FunctionUrlAuthType": "AWS_IAM" } },
        },
        {
          Effect: "Allow",
          Action: "lambda:InvokeFunction",
          Resource: FUNCTION_ARN,
          Condition: { Bool: { "lambda:InvokedViaFunctionUrl": true } },
        },
      ],
    },
  };
  const gate = createGate({
    callers: store,
    policies: new PolicySet({
      roles: [
        { roleArn: NODE_ROLE, policies: [invokeThroughUrl] },
        { roleArn: OTHER_ROLE, policies: [] },
      ],
    }),
  });
  const node = store.assumeRole(NODE_ROLE, INSTANCE_ID);
  const other = store.assumeRole(OTHER_ROLE, INSTANCE_ID);
  const events: unknown[] = [];
  const fn = {
    invoke: async (event: unknown) => {
      events.push(event);
      return { statusCode: 200, headers: { "content-type": "text/plain" }, body: "ok\n" };
    },
  } as unknown as LambdaFunction;
  const url = new FunctionUrl({
    target: () => ({ fn, functionArn: FUNCTION_ARN, authType: "AWS_IAM" }),
    region: "us-east-1",
    gate,
  });
  let base: URL;
  before(async () => {
    base = new URL(await url.start());
  });
  after(() => url.stop());

  async function send(credentials: {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken?: string | undefined;
  }): Promise<Response> {
    const signer = new SignatureV4({ service: "lambda", region: "us-east-1", sha256: Sha256, credentials });
    const signed = await signer.sign({
      method: "GET",
      protocol: "http:",
      hostname: base.hostname,
      port: Number(base.port),
      path: `/v1/nodes/${INSTANCE_ID}/config`,
      query: { format: "env" },
      headers: { host: base.host },
    });
    const { host: _host, ...headers } = signed.headers;
    return fetch(`${base.origin}${signed.path}?format=env`, { headers });
  }

  it("passes a request the SDK signed with the issued credentials, naming the instance's session", async () => {
    const response = await send(node);
    assert.equal(response.status, 200);
    const event = events.at(-1) as {
      version: string;
      rawPath: string;
      queryStringParameters: Record<string, string>;
      requestContext: { http: { method: string }; authorizer: { iam: { userArn: string } } };
    };
    assert.equal(event.version, "2.0");
    assert.equal(event.rawPath, `/v1/nodes/${INSTANCE_ID}/config`);
    assert.deepEqual(event.queryStringParameters, { format: "env" });
    assert.equal(event.requestContext.http.method, "GET");
    assert.equal(
      event.requestContext.authorizer.iam.userArn,
      `arn:aws:sts::123456789012:assumed-role/etcd-asg-node/${INSTANCE_ID}`,
    );
  });

  it("refuses a role that may not invoke the function through its URL, as AWS words it", async () => {
    const seen = events.length;
    const response = await send(other);
    assert.equal(response.status, 403);
    assert.equal(response.headers.get("x-amzn-errortype"), "AccessDeniedException");
    assert.match(await response.text(), /^\{"Message":"Forbidden\./);
    assert.equal(events.length, seen, "the function never ran");
  });

  it("refuses a wrong secret, a missing session token and an unsigned request with 403", async () => {
    const seen = events.length;
    assert.equal((await send({ ...node, secretAccessKey: "d3Jvbmctc2VjcmV0" })).status, 403);
    assert.equal((await send({ ...node, sessionToken: undefined })).status, 403);
    const unsigned = await fetch(`${base.origin}/v1/nodes/${INSTANCE_ID}/config`);
    assert.equal(unsigned.status, 403);
    assert.match(await unsigned.text(), /^\{"Message":"Forbidden\./);
    assert.equal(events.length, seen, "the function never ran");
  });
});
