// The SigV4 verifier against requests as real clients put them on the wire: SDK v3 clients (JSON,
// Query and S3 REST, keys that need encoding, a presigned URL) and curl --aws-sigv4 (as the node's
// user data signs its S3 and function URL calls) are recorded by a loopback server and verified; a
// tampered request, a wrong secret, a foreign token, expired credentials, a stale date or another
// service's scope are refused, each for its own reason.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { CredentialStore } from "../../local/iam/credentials";
import { credentialScope, type SignedRequest, verifySigV4 } from "../../local/iam/sigv4";

const REGION = "us-east-1";

interface Recorded extends SignedRequest {
  readonly body: Buffer;
}

let server: Server;
let endpoint: string;
const recorded: Recorded[] = [];
const store = new CredentialStore({ account: "123456789012" });
const credentials = store.assumeRole("arn:aws:iam::123456789012:role/Recorder", "recorder");

before(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      recorded.push({
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks),
      });
      response.writeHead(500, { "content-type": "text/plain" }).end("recorded");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Sends with a client and returns the request the server received. */
async function record(send: () => Promise<unknown>): Promise<Recorded> {
  const before = recorded.length;
  await send().catch(() => undefined);
  const request = recorded[before];
  assert.ok(request, "the client sent a request");
  return request;
}

function verify(request: SignedRequest, service: string, now = Date.now()) {
  return verifySigV4(request, { region: REGION, service }, (id) => store.secretFor(id), now);
}

const config = () => ({ endpoint, region: REGION, credentials, maxAttempts: 1 });

describe("SigV4 verification of real clients' requests", () => {
  test("accepts a DynamoDB JSON call and reports the scope it was signed for", async () => {
    const client = new DynamoDBClient(config());
    const request = await record(() =>
      client.send(new GetItemCommand({ TableName: "ledger", Key: { pk: { S: "cluster" } } })),
    );
    client.destroy();
    const verdict = verify(request, "dynamodb");
    assert.deepEqual(verdict.ok && verdict.scope, {
      accessKeyId: credentials.accessKeyId,
      day: new Date().toISOString().slice(0, 10).replace(/-/g, ""),
      region: REGION,
      service: "dynamodb",
    });
    assert.equal(credentialScope(request)?.service, "dynamodb");
  });

  test("accepts an Auto Scaling Query call", async () => {
    const client = new AutoScalingClient(config());
    const request = await record(() =>
      client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ["a b", "c+d"] })),
    );
    client.destroy();
    assert.equal(verify(request, "autoscaling").ok, true);
  });

  test("accepts S3 calls on keys that need encoding, with the payload hash declared", async () => {
    const client = new S3Client({ ...config(), forcePathStyle: true });
    const put = await record(() =>
      client.send(new PutObjectCommand({ Bucket: "snapshots", Key: "gen 1/snap+shot ü.db", Body: "data" })),
    );
    const get = await record(() =>
      client.send(new GetObjectCommand({ Bucket: "snapshots", Key: "gen 1/snap+shot ü.db" })),
    );
    client.destroy();
    const verdict = verify(put, "s3");
    assert.equal(verdict.ok && verdict.payload, "signed");
    assert.equal(verify({ ...put, body: undefined }, "s3").ok, true, "without reading the body");
    assert.equal(verify(get, "s3").ok, true);
  });

  test("accepts a presigned S3 URL until it expires", async () => {
    const client = new S3Client({ ...config(), forcePathStyle: true });
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: "snapshots", Key: "snap.db" }), {
      expiresIn: 60,
    });
    client.destroy();
    const request = await record(() => fetch(url));
    assert.equal(verify(request, "s3").ok, true);
    const late = verify(request, "s3", Date.now() + 61_000);
    assert.deepEqual(!late.ok && [late.problem, late.reason], ["expired-request", "Request has expired"]);
  });

  test("accepts curl --aws-sigv4, as the node's user data and boot script sign", async () => {
    const sign = (service: string, url: string, body?: string) =>
      record(() =>
        promisify(execFile)("curl", [
          "-sS",
          "--aws-sigv4",
          `aws:amz:${REGION}:${service}`,
          "--user",
          `${credentials.accessKeyId}:${credentials.secretAccessKey}`,
          "-H",
          `x-amz-security-token: ${credentials.sessionToken}`,
          ...(body === undefined ? [] : ["--data-binary", body]),
          url,
        ]),
      );
    assert.equal(verify(await sign("s3", `${endpoint}/assets/boot.sh`), "s3").ok, true);
    const nodeApi = await sign("lambda", `${endpoint}/v1/nodes/i-0abc/config?format=env&wait=5`, '{"a":1}');
    assert.equal(verify(nodeApi, "lambda").ok, true);
  });

  describe("refusals", () => {
    let request: Recorded;
    before(async () => {
      const client = new DynamoDBClient(config());
      request = await record(() => client.send(new GetItemCommand({ TableName: "ledger", Key: {} })));
      client.destroy();
    });

    const problem = (verdict: ReturnType<typeof verify>) => (verdict.ok ? "accepted" : verdict.problem);
    const headers = (changes: IncomingHttpHeaders) => ({
      ...request,
      headers: { ...request.headers, ...changes },
    });

    test("a changed body does not match the signature", () => {
      assert.equal(
        problem(verify({ ...request, body: Buffer.from('{"TableName":"other"}') }, "dynamodb")),
        "mismatch",
      );
    });

    test("a wrong secret does not match the signature", () => {
      const verdict = verifySigV4(request, { region: REGION, service: "dynamodb" }, () => ({
        ...credentials,
        secretAccessKey: `${credentials.secretAccessKey}x`,
      }));
      assert.equal(problem(verdict), "mismatch");
    });

    test("an unknown key, a foreign token, expired credentials, a stale date, another scope, no signature", () => {
      assert.equal(
        problem(verifySigV4(request, { region: REGION, service: "dynamodb" }, () => undefined)),
        "unknown-key",
      );
      assert.equal(
        problem(verify(headers({ "x-amz-security-token": "forged" }), "dynamodb")),
        "invalid-token",
      );
      assert.equal(problem(verify(request, "dynamodb", credentials.expiration.getTime())), "expired-token");
      assert.equal(
        problem(
          verifySigV4(
            request,
            { region: REGION, service: "dynamodb" },
            (id) => store.secretFor(id),
            Date.now() + 16 * 60_000,
          ),
        ),
        "expired-request",
      );
      assert.equal(problem(verify(request, "kms")), "scope");
      const { authorization: _, ...unsigned } = request.headers;
      assert.equal(problem(verify({ ...request, headers: unsigned }, "dynamodb")), "missing");
      assert.equal(
        problem(verify(headers({ authorization: "AWS4-HMAC-SHA256 Credential=x" }), "dynamodb")),
        "incomplete",
      );
    });

    test("an S3 body that is not the declared hash", async () => {
      const client = new S3Client({ ...config(), forcePathStyle: true });
      const put = await record(() =>
        client.send(new PutObjectCommand({ Bucket: "b", Key: "k", Body: "data" })),
      );
      client.destroy();
      assert.equal(problem(verify({ ...put, body: Buffer.from("evil") }, "s3")), "content-sha256-mismatch");
    });
  });
});
