// The simulator's Lambda function URL (AWS_IAM auth): a request signed by the AWS SDK's own SigV4
// signer with an instance's issued credentials reaches the function as a payload-2.0 event naming
// the instance's assumed-role session; a wrong secret, a missing session token or no signature at
// all is refused with 403 before the function runs.
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { SignatureV4 } from "@smithy/signature-v4";
import { FunctionUrl, type IssuedCredentials } from "../../local/simulator/function-url";
import type { LambdaFunction } from "../../local/simulator/lambda-function";

/** The HashConstructor the SDK signer takes, on node:crypto. */
class Sha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash("sha256") : createHmac("sha256", bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

function bytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

const issued: IssuedCredentials = {
  instanceId: "i-0123456789abcdef0",
  roleName: "etcd-asg-node",
  accessKeyId: "ASIA0123456789ABCDEF",
  secretAccessKey: "c2VjcmV0LXNlY3JldC1zZWNyZXQ=",
  sessionToken: "dG9rZW4tdG9rZW4tdG9rZW4=",
};

describe("simulator function URL", () => {
  const events: unknown[] = [];
  const fn = {
    invoke: async (event: unknown) => {
      events.push(event);
      return { statusCode: 200, headers: { "content-type": "text/plain" }, body: "ok\n" };
    },
  } as unknown as LambdaFunction;
  const url = new FunctionUrl({
    fn,
    region: "us-east-1",
    account: "123456789012",
    credentials: (id) => (id === issued.accessKeyId ? issued : undefined),
  });
  let base: URL;
  before(async () => {
    base = new URL(await url.start());
  });
  after(() => url.stop());

  async function send(secretAccessKey: string, sessionToken: string | undefined): Promise<Response> {
    const signer = new SignatureV4({
      service: "lambda",
      region: "us-east-1",
      sha256: Sha256,
      credentials: { accessKeyId: issued.accessKeyId, secretAccessKey, sessionToken },
    });
    const signed = await signer.sign({
      method: "GET",
      protocol: "http:",
      hostname: base.hostname,
      port: Number(base.port),
      path: `/v1/nodes/${issued.instanceId}/config`,
      query: { format: "env" },
      headers: { host: base.host },
    });
    const { host: _host, ...headers } = signed.headers;
    return fetch(`${base.origin}${signed.path}?format=env`, { headers });
  }

  it("passes a request the SDK signed with the issued credentials, naming the instance's session", async () => {
    const response = await send(issued.secretAccessKey, issued.sessionToken);
    assert.equal(response.status, 200);
    const event = events.at(-1) as {
      version: string;
      rawPath: string;
      queryStringParameters: Record<string, string>;
      requestContext: { http: { method: string }; authorizer: { iam: { userArn: string } } };
    };
    assert.equal(event.version, "2.0");
    assert.equal(event.rawPath, `/v1/nodes/${issued.instanceId}/config`);
    assert.deepEqual(event.queryStringParameters, { format: "env" });
    assert.equal(event.requestContext.http.method, "GET");
    assert.equal(
      event.requestContext.authorizer.iam.userArn,
      `arn:aws:sts::123456789012:assumed-role/etcd-asg-node/${issued.instanceId}`,
    );
  });

  it("refuses a wrong secret, a missing session token and an unsigned request with 403", async () => {
    const seen = events.length;
    assert.equal((await send("d3Jvbmctc2VjcmV0", issued.sessionToken)).status, 403);
    assert.equal((await send(issued.secretAccessKey, undefined)).status, 403);
    const unsigned = await fetch(`${base.origin}/v1/nodes/${issued.instanceId}/config`);
    assert.equal(unsigned.status, 403);
    assert.match(await unsigned.text(), /Missing Authentication Token/);
    assert.equal(events.length, seen, "the function never ran");
  });
});
