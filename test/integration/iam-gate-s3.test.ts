// S3 requests through the IAM gate proxy, from the real S3 client, a presigned URL and curl
// --aws-sigv4 (as the node's user data fetches its boot script): allowed calls reach the store behind
// the gate with their bodies streamed (a declared hash checked on the way, an aws-chunked upload
// decoded), refused ones never do and hear S3's own error codes. The store behind the gate is a
// minimal one in this file that checks nothing, as the gate expects.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { CredentialStore, type Credentials } from "../../local/iam/credentials";
import { createGate } from "../../local/iam/gate";
import { type GateProxy, startGateProxy, withoutSignature } from "../../local/iam/gate-proxy";
import { administrator, PolicySet } from "../../local/iam/policies";
import { s3Front } from "../../local/iam/s3";

const ACCOUNT = "123456789012";
const REGION = "us-east-1";
const SNAPSHOT_ROLE = `arn:aws:iam::${ACCOUNT}:role/EtcdAsg-SnapshotRole`;
const NODE_ROLE = `arn:aws:iam::${ACCOUNT}:role/EtcdAsg-NodeRole`;

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** Whether the whole body arrived (an aborted upload does not). */
  complete: boolean;
}

/** Objects by path; what reached the store. */
const objects = new Map<string, Buffer>();
const received: Received[] = [];
let store: Server;
let proxy: GateProxy;
const credentials = new CredentialStore({ account: ACCOUNT });
const clients: S3Client[] = [];

function clientAs(identity: Credentials): S3Client {
  const client = new S3Client({
    endpoint: proxy.endpoint,
    region: REGION,
    credentials: identity,
    forcePathStyle: true,
    maxAttempts: 1,
  });
  clients.push(client);
  return client;
}

async function refusal(send: Promise<unknown>) {
  return send.then(
    () => assert.fail("the call was served"),
    (error: unknown) => error as Error & { Code?: string; $metadata: { httpStatusCode?: number } },
  );
}

before(async () => {
  store = createServer((request, response) => {
    const entry: Received = {
      method: request.method ?? "",
      url: request.url ?? "",
      headers: request.headers,
      complete: false,
    };
    received.push(entry);
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      entry.complete = true;
      const path = (request.url ?? "").split("?")[0] ?? "";
      if (request.method === "PUT") {
        objects.set(path, Buffer.concat(chunks));
        response.writeHead(200, { etag: '"stored"' }).end();
        return;
      }
      const object = objects.get(path);
      if (object === undefined) {
        response.writeHead(404, { "content-type": "application/xml" });
        response.end(
          "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>",
        );
        return;
      }
      response.writeHead(200, { "content-length": String(object.length) });
      response.end(request.method === "HEAD" ? undefined : object);
    });
  });
  await new Promise<void>((resolve) => store.listen(0, "127.0.0.1", resolve));
  const policies = new PolicySet({
    roles: [
      {
        roleArn: SNAPSHOT_ROLE,
        policies: [
          {
            name: "Snapshots",
            document: {
              Version: "2012-10-17",
              Statement: [
                {
                  Effect: "Allow",
                  Action: ["s3:GetObject", "s3:PutObject"],
                  Resource: "arn:aws:s3:::snapshots/*",
                },
              ],
            },
          },
        ],
      },
      {
        roleArn: NODE_ROLE,
        policies: [
          {
            name: "ReadTheBootScript",
            document: {
              Version: "2012-10-17",
              Statement: [
                { Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::assets/boot.sh" },
              ],
            },
          },
        ],
      },
    ],
    users: [administrator(credentials.operator.principal.arn)],
    resourcePolicies: [
      {
        // The snapshot bucket is TLS only; the simulator's plain HTTP counts as TLS (GateConfig).
        resourceArn: "arn:aws:s3:::snapshots",
        document: {
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Deny",
              Principal: { AWS: "*" },
              Action: "s3:*",
              Resource: ["arn:aws:s3:::snapshots", "arn:aws:s3:::snapshots/*"],
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
          ],
        },
      },
    ],
  });
  proxy = await startGateProxy({
    gate: createGate({ callers: credentials, policies }),
    front: s3Front({ region: REGION, account: ACCOUNT }),
    upstream: `http://127.0.0.1:${(store.address() as AddressInfo).port}`,
    forward: withoutSignature,
  });
  objects.set("/assets/boot.sh", Buffer.from("#!/usr/bin/env bash\necho booted\n"));
});

after(async () => {
  for (const client of clients) client.destroy();
  await proxy.stop();
  store.closeAllConnections();
  await new Promise<void>((resolve) => store.close(() => resolve()));
});

describe("S3 behind the IAM gate", () => {
  test("streams an allowed upload with a declared hash to the store, which sees no signature", async () => {
    const snapshots = clientAs(credentials.assumeRole(SNAPSHOT_ROLE, "snapshot"));
    const body = Buffer.alloc(3 * 1024 * 1024, 7);
    await snapshots.send(new PutObjectCommand({ Bucket: "snapshots", Key: "gen-1/a.db", Body: body }));
    assert.deepEqual(objects.get("/snapshots/gen-1/a.db"), body);
    const put = received.find((r) => r.url.startsWith("/snapshots/gen-1/a.db"));
    assert.equal(put?.headers.authorization, undefined);
    const got = await snapshots.send(new GetObjectCommand({ Bucket: "snapshots", Key: "gen-1/a.db" }));
    assert.deepEqual(Buffer.from((await got.Body?.transformToByteArray()) ?? []), body);
  });

  test("decodes a streamed (aws-chunked) upload so the store gets the object's bytes", async () => {
    const snapshots = clientAs(credentials.assumeRole(SNAPSHOT_ROLE, "snapshot"));
    const parts = [Buffer.alloc(70_000, 1), Buffer.alloc(50_000, 2)];
    await snapshots.send(
      new PutObjectCommand({
        Bucket: "snapshots",
        Key: "gen-1/streamed.db",
        Body: Readable.from(parts),
        ContentLength: 120_000,
      }),
    );
    assert.deepEqual(objects.get("/snapshots/gen-1/streamed.db"), Buffer.concat(parts));
    const put = received.find((r) => r.url.startsWith("/snapshots/gen-1/streamed.db"));
    assert.equal(put?.headers["content-length"], "120000");
    assert.equal(put?.headers["content-encoding"], undefined);
  });

  test("refuses an upload the role may not make with AccessDenied, before its body is sent", async () => {
    const node = clientAs(credentials.assumeRole(NODE_ROLE, "i-0123456789abcdef0"));
    const before = received.length;
    const error = await refusal(
      node.send(
        new PutObjectCommand({
          Bucket: "snapshots",
          Key: "gen-1/evil.db",
          Body: Buffer.alloc(3 * 1024 * 1024),
        }),
      ),
    );
    assert.equal(error.name, "AccessDenied");
    assert.equal(error.$metadata.httpStatusCode, 403);
    assert.equal(
      error.message,
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/EtcdAsg-NodeRole/i-0123456789abcdef0 is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::snapshots/gen-1/evil.db" because no identity-based policy allows the s3:PutObject action`,
    );
    assert.equal(received.length, before, "nothing reached the store");
  });

  test("aborts an upload whose body is not the one signed: XAmzContentSHA256Mismatch, nothing stored", async () => {
    const snapshots = clientAs(credentials.assumeRole(SNAPSHOT_ROLE, "snapshot"));
    type Handler = (args: { request: { body?: unknown } }) => Promise<unknown>;
    // After signing, the body is swapped for another of the same length.
    const tamper =
      (next: Handler): Handler =>
      async (args) => {
        args.request.body = "evil";
        return next(args);
      };
    snapshots.middlewareStack.addRelativeTo(
      tamper as unknown as Parameters<typeof snapshots.middlewareStack.addRelativeTo>[0],
      { relation: "after", toMiddleware: "awsAuthMiddleware", name: "tamper" },
    );
    const error = await refusal(
      snapshots.send(new PutObjectCommand({ Bucket: "snapshots", Key: "gen-1/tampered.db", Body: "data" })),
    );
    assert.equal(error.name, "XAmzContentSHA256Mismatch");
    assert.equal(objects.has("/snapshots/gen-1/tampered.db"), false);
  });

  test("serves a presigned URL of an object the signer may read, and refuses it once expired", async () => {
    const node = clientAs(credentials.assumeRole(NODE_ROLE, "i-0123456789abcdef0"));
    // X-Amz-Date is whole seconds: a URL signed late in a second lives from 2 s (of 3) on.
    const url = await getSignedUrl(node, new GetObjectCommand({ Bucket: "assets", Key: "boot.sh" }), {
      expiresIn: 3,
    });
    const fresh = await fetch(url);
    assert.equal(fresh.status, 200);
    assert.equal(await fresh.text(), "#!/usr/bin/env bash\necho booted\n");
    assert.ok(received.at(-1)?.url.startsWith("/assets/boot.sh") && !received.at(-1)?.url.includes("X-Amz-"));
    await new Promise((resolve) => setTimeout(resolve, 4100));
    const stale = await fetch(url);
    assert.equal(stale.status, 403);
    assert.match(await stale.text(), /<Code>AccessDenied<\/Code><Message>Request has expired<\/Message>/);
  });

  test("serves curl --aws-sigv4 with the node role's session, as the user data fetches its boot script", async () => {
    const node = credentials.assumeRole(NODE_ROLE, "i-0123456789abcdef0");
    const { stdout } = await promisify(execFile)("curl", [
      "-sSf",
      "--aws-sigv4",
      `aws:amz:${REGION}:s3`,
      "--user",
      `${node.accessKeyId}:${node.secretAccessKey}`,
      "-H",
      `x-amz-security-token: ${node.sessionToken}`,
      `${proxy.endpoint}/assets/boot.sh`,
    ]);
    assert.equal(stdout, "#!/usr/bin/env bash\necho booted\n");
  });

  test("refuses bad credentials with S3's codes: SignatureDoesNotMatch, InvalidAccessKeyId, InvalidToken", async () => {
    const issued = credentials.assumeRole(SNAPSHOT_ROLE, "snapshot");
    const get = (identity: Credentials) =>
      refusal(clientAs(identity).send(new GetObjectCommand({ Bucket: "snapshots", Key: "gen-1/a.db" })));
    assert.equal(
      (await get({ ...issued, secretAccessKey: `${issued.secretAccessKey}x` })).name,
      "SignatureDoesNotMatch",
    );
    assert.equal(
      (await get({ accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "x" })).name,
      "InvalidAccessKeyId",
    );
    assert.equal((await get({ ...issued, sessionToken: "forged" })).name, "InvalidToken");
  });

  test("answers a refused HEAD with a bare 403", async () => {
    const node = clientAs(credentials.assumeRole(NODE_ROLE, "i-0123456789abcdef0"));
    const error = await refusal(node.send(new HeadObjectCommand({ Bucket: "snapshots", Key: "gen-1/a.db" })));
    assert.equal(error.$metadata.httpStatusCode, 403);
  });

  test("lets the operator read any object", async () => {
    const operator = clientAs(credentials.operator.credentials);
    const got = await operator.send(new GetObjectCommand({ Bucket: "assets", Key: "boot.sh" }));
    assert.equal(await got.Body?.transformToString(), "#!/usr/bin/env bash\necho booted\n");
  });
});
