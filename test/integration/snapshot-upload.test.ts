// Snapshots of a real etcd 3.4 cluster with mutual TLS streamed into S3 (s3rver behind the IAM gate,
// the real S3 client and lib-storage): the object is etcd's stream, database and SHA-256 trailer, its
// revision bounds hold against `etcdctl snapshot status`, and a stream that fails its check (a byte
// changed, the hash cut off) is never completed: the multipart upload is aborted and no object
// exists. S3 refusals arrive translated; listing, describing, presigning and deleting work on what
// was uploaded.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Transform } from "node:stream";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { noop } from "cockatiel";
import { Etcd3 } from "etcd3";
import { EtcdEndpoint, type TlsIdentitySource } from "../../lambdas/adapters/etcd/endpoint";
import {
  SnapshotAccessDeniedError,
  SnapshotBucketNotFoundError,
  type SnapshotEndpoint,
  SnapshotIntegrityError,
  SnapshotNotFoundError,
  SnapshotSourceMismatchError,
  SnapshotStore,
  SnapshotUploader,
  uploadTuning,
} from "../../lambdas/adapters/snapshots";
import type { SnapshotMember } from "../../lambdas/domain/durability";
import type { CertificateAuthority } from "../../lambdas/pki/certificate-authority";
import { etcdClient } from "../../local/simulator/etcd-client";
import { startEtcdCluster } from "../helpers/etcd/cluster";
import { TlsEtcdCluster } from "../helpers/etcd/tls-cluster";
import { type Credentials, issueTo, newCertificateAuthority, useLocalKms } from "../helpers/pki";
import { SNAPSHOT_BUCKET, useLocalSnapshotBucket } from "../helpers/s3";

const CLUSTER = "snapshot-it";
const TOKEN = "snapshot-it-0b7c4e1a";
const MIB = 1024 * 1024;
/** More than two 5 MiB parts, so the multipart path runs. */
const DATA_MIB = 12;

const run = promisify(execFile);

/** What `promise` rejected with; fails the test with `unexpected` when it resolved. */
function rejection(promise: Promise<unknown>, unexpected: string): Promise<unknown> {
  return promise.then(
    () => assert.fail(unexpected),
    (error: unknown) => error,
  );
}

/** What `etcdctl snapshot status -w json` says about a snapshot file. */
async function snapshotStatus(bytes: Buffer): Promise<{ revision: number; totalKey: number; hash: number }> {
  const dir = mkdtempSync(join(tmpdir(), "etcd-asg-snapshot-status-"));
  try {
    const file = join(dir, "snapshot.db");
    writeFileSync(file, bytes);
    const { stdout } = await run("etcdctl", ["snapshot", "status", file, "-w", "json"], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ETCDCTL_API: "3" },
    });
    return JSON.parse(stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The endpoint, with every snapshot message passed through `alter` on its way out. */
function altered(endpoint: SnapshotEndpoint, alter: () => Transform): SnapshotEndpoint {
  return {
    url: endpoint.url,
    call: (operation, runCall, timeoutMs) =>
      endpoint.call(
        operation,
        async (client, options) => {
          const result = await runCall(client, options);
          if (operation !== "snapshot") return result;
          const stream = result as unknown as NodeJS.ReadableStream;
          const transform = alter();
          stream.on("error", (error) => transform.destroy(error));
          return stream.pipe(transform) as unknown as typeof result;
        },
        timeoutMs,
      ),
  };
}

/** Flips one byte of the `index`th message. */
function flipByteOf(index: number): Transform {
  let seen = 0;
  return new Transform({
    objectMode: true,
    transform(message: { blob: Buffer }, _encoding, done) {
      if (seen++ === index) {
        const blob = Buffer.from(message.blob);
        blob[blob.length >> 1] = (blob[blob.length >> 1] ?? 0) ^ 0xff;
        done(null, { ...message, blob });
        return;
      }
      done(null, message);
    },
  });
}

/** Drops the last message: the stream ends without etcd's hash. */
function dropLast(): Transform {
  let held: unknown;
  return new Transform({
    objectMode: true,
    transform(message, _encoding, done) {
      const previous = held;
      held = message;
      done(null, previous);
    },
  });
}

describe("etcd snapshots streamed into S3", () => {
  const kms = useLocalKms();
  const bucket = useLocalSnapshotBucket(`${CLUSTER}/`);
  let clientCa: CertificateAuthority;
  let root: Credentials;
  let cluster: TlsEtcdCluster;
  let writer: Etcd3;
  let tls: TlsIdentitySource;
  const endpoints: EtcdEndpoint[] = [];
  let s3: S3Client;
  let store: SnapshotStore;
  /** Parts of 64 MiB: the snapshot goes up in one PutObject. */
  let whole: SnapshotUploader;
  /** Parts of 5 MiB: the snapshot goes up in three. */
  let parts: SnapshotUploader;
  const warnings: string[] = [];

  function endpointOf(url: string): EtcdEndpoint {
    const endpoint = new EtcdEndpoint(url, 10_000, tls);
    endpoints.push(endpoint);
    return endpoint;
  }

  async function memberAt(url: string): Promise<SnapshotMember & { endpoint: EtcdEndpoint }> {
    const endpoint = endpointOf(url);
    const status = await endpoint.status();
    const name = cluster.members.find((m) => m.clientUrl === url)?.name ?? "";
    return { endpoint, memberId: status.memberId, instanceId: name };
  }

  function take(uploader: SnapshotUploader, source: SnapshotEndpoint, member: SnapshotMember) {
    return uploader.take({ source, member, token: TOKEN, generation: 1, timeoutMs: 60_000, now: Date.now });
  }

  async function objectBytes(key: string): Promise<Buffer> {
    const got = await bucket
      .operatorClient()
      .send(new GetObjectCommand({ Bucket: SNAPSHOT_BUCKET, Key: key }));
    return Buffer.from((await got.Body?.transformToByteArray()) ?? []);
  }

  before(async () => {
    const peerCa = await newCertificateAuthority(kms, "peer");
    clientCa = await newCertificateAuthority(kms, "client");
    root = await issueTo(clientCa, { kind: "control-plane" });
    tls = async () => ({
      caPem: clientCa.pem,
      certificatePem: root.certificatePem,
      privateKeyPem: root.privateKeyPem,
    });
    cluster = await TlsEtcdCluster.start({ size: 3, peerCa, clientCa, healthCheckIdentity: root });
    writer = etcdClient(cluster.clientUrls, {
      ca: clientCa.pem,
      cert: root.certificatePem,
      key: root.privateKeyPem,
    });
    const value = Buffer.alloc(MIB, "v");
    for (let i = 0; i < DATA_MIB; i++) await writer.put(`bulk/${i}`).value(value);
    for (let i = 0; i < 100; i++) await writer.put(`key/${i}`).value(`value ${i}`);
    s3 = bucket.snapshotClient();
    store = new SnapshotStore(s3, SNAPSHOT_BUCKET, CLUSTER);
    const onWarning = (message: string) => warnings.push(message);
    whole = new SnapshotUploader({ store, tuning: { partSizeBytes: 64 * MIB, queueSize: 2 }, onWarning });
    parts = new SnapshotUploader({ store, tuning: { partSizeBytes: 5 * MIB, queueSize: 2 }, onWarning });
  });

  after(async () => {
    writer?.close();
    for (const endpoint of endpoints) endpoint.close();
    await cluster?.stop();
  });

  test("uploads etcd's stream as it is: the database, then its SHA-256; the record's hash is the object's", async () => {
    const member = await memberAt(cluster.clientUrls[1] ?? "");
    const record = await take(whole, member.endpoint, member);
    const bytes = await objectBytes(record.key);
    assert.equal(bytes.length, record.size);
    assert.equal(createHash("sha256").update(bytes).digest("hex"), record.sha256);
    const database = bytes.subarray(0, bytes.length - 32);
    assert.deepEqual(createHash("sha256").update(database).digest(), bytes.subarray(bytes.length - 32));
    assert.equal(database.length % 512, 0);
    assert.ok(record.size > DATA_MIB * MIB);
    assert.deepEqual(record.member, { memberId: member.memberId, instanceId: member.instanceId });
    assert.match(record.key, new RegExp(`^${CLUSTER}/${TOKEN}/0{10}\\d{10}-\\d{8}T\\d{6}\\.\\d{3}Z\\.db$`));
  });

  test("the recorded revisions bound the snapshot's own, as etcdctl reads it", async () => {
    const member = await memberAt(cluster.clientUrls[0] ?? "");
    // Writes during the snapshot: the bounds must still hold.
    let writing = true;
    const writes = (async () => {
      for (let i = 0; writing; i++) await writer.put(`during/${i}`).value("x");
    })();
    const record = await take(parts, member.endpoint, member);
    writing = false;
    await writes;
    const status = await snapshotStatus(await objectBytes(record.key));
    assert.ok(record.maxRevision !== undefined);
    assert.ok(
      record.revision <= status.revision && status.revision <= record.maxRevision,
      `snapshot revision ${status.revision} outside [${record.revision}, ${record.maxRevision}]`,
    );
    assert.ok(status.totalKey >= DATA_MIB + 100);
  });

  test("uploads in parts of the tuned size when the snapshot is larger than one", async () => {
    const member = await memberAt(cluster.clientUrls[2] ?? "");
    const before = bucket.allowed.length;
    const record = await take(parts, member.endpoint, member);
    const sent = bucket.allowed.slice(before);
    const partsSent = sent.filter((r) => r.startsWith("PUT ") && r.includes("partNumber="));
    assert.equal(partsSent.length, Math.ceil(record.size / (5 * MIB)));
    assert.equal(
      sent.filter((r) => r.startsWith("POST ") && r.includes("uploadId=")).length,
      1,
      "one completion",
    );
    assert.equal(
      createHash("sha256")
        .update(await objectBytes(record.key))
        .digest("hex"),
      record.sha256,
    );
  });

  for (const [what, uploader] of [
    ["in parts", () => parts],
    ["in one PutObject", () => whole],
  ] as const) {
    test(`a byte changed on the way fails the check and leaves no object (${what})`, async () => {
      const member = await memberAt(cluster.clientUrls[1] ?? "");
      const before = bucket.allowed.length;
      const error = await rejection(
        take(
          uploader(),
          altered(member.endpoint, () => flipByteOf(200)),
          member,
        ),
        "a corrupted stream was uploaded",
      );
      assert.ok(error instanceof SnapshotIntegrityError, String(error));
      assert.match(
        error.message,
        /SHA-256 of the \d+-byte database is [0-9a-f]{64}, but the stream ends with/,
      );
      await assert.rejects(store.describe(error.key), SnapshotNotFoundError);
      const sent = bucket.allowed.slice(before);
      assert.equal(
        sent.filter((r) => r.startsWith("POST ") && r.includes("uploadId=")).length,
        0,
        "no completion",
      );
      assert.ok(!sent.includes(`PUT /${SNAPSHOT_BUCKET}/${error.key}`), "no PutObject");
      if (what === "in parts") {
        assert.ok(
          sent.some((r) => r.startsWith("DELETE ") && r.includes("uploadId=")),
          "the upload was aborted",
        );
      }
    });
  }

  test("a stream cut short before etcd's hash fails the check", async () => {
    const member = await memberAt(cluster.clientUrls[0] ?? "");
    const error = await rejection(
      take(parts, altered(member.endpoint, dropLast), member),
      "a truncated stream was uploaded",
    );
    assert.ok(error instanceof SnapshotIntegrityError, String(error));
    await assert.rejects(store.describe(error.key), SnapshotNotFoundError);
  });

  test("refuses to stream from a URL that answers as another member", async () => {
    const member = await memberAt(cluster.clientUrls[0] ?? "");
    const error = await rejection(
      take(whole, member.endpoint, { ...member, memberId: "12345" }),
      "streamed from the wrong member",
    );
    assert.ok(error instanceof SnapshotSourceMismatchError);
    assert.equal(error.actualMemberId, member.memberId);
  });

  test("S3's refusals arrive translated, not retryable: AccessDenied outside the role's prefix, NoSuchBucket", async () => {
    const member = await memberAt(cluster.clientUrls[0] ?? "");
    const outside = new SnapshotUploader({
      store: new SnapshotStore(s3, SNAPSHOT_BUCKET, "another-cluster"),
      tuning: uploadTuning(256),
    });
    const denied = await rejection(
      take(outside, member.endpoint, member),
      "uploaded outside the role's prefix",
    );
    assert.ok(denied instanceof SnapshotAccessDeniedError, String(denied));
    assert.equal(denied.retryable, false);
    const missing = new SnapshotUploader({
      store: new SnapshotStore(bucket.operatorClient(), "no-such-bucket", CLUSTER),
      tuning: uploadTuning(256),
    });
    const notFound = await rejection(
      take(missing, member.endpoint, member),
      "uploaded into a missing bucket",
    );
    assert.ok(notFound instanceof SnapshotBucketNotFoundError, String(notFound));
    assert.equal(notFound.retryable, false);
  });

  test("lists, describes, presigns and deletes what was uploaded", async () => {
    const member = await memberAt(cluster.clientUrls[2] ?? "");
    const record = await take(whole, member.endpoint, member);
    const listed = await store.list();
    const entry = listed.find((l) => l.key === record.key);
    assert.deepEqual(entry, {
      key: record.key,
      token: TOKEN,
      revision: record.revision,
      takenAt: record.takenAt,
      size: record.size,
    });
    assert.deepEqual(await store.describe(record.key), record);
    const url = await store.presignedGet(record.key, 60);
    const fetched = Buffer.from(await (await fetch(url)).arrayBuffer());
    assert.equal(createHash("sha256").update(fetched).digest("hex"), record.sha256);
    assert.deepEqual(await store.delete([record.key]), []);
    await assert.rejects(store.describe(record.key), SnapshotNotFoundError);
    assert.ok(!(await store.list()).some((l) => l.key === record.key));
  });

  test("an abort S3 refuses is a warning; the failure that caused it is what the caller sees", () => {
    // s3rver 3.7 answers AbortMultipartUpload with 405 MethodNotAllowed (S3 itself removes the parts,
    // and the bucket's AbortIncompleteMultipartUpload rule would): the corrupted upload in parts above
    // still failed with SnapshotIntegrityError, and its abort was reported here.
    assert.ok(warnings.length > 0);
    for (const warning of warnings) {
      assert.match(
        warning,
        /aborting upload \S+ of \S+ failed: .*MethodNotAllowed.*the bucket's lifecycle rule/,
      );
    }
  });
});

// Plaintext etcd: this test is about a member that lost its quorum serving its own data, not about
// TLS (the TLS test bed cannot kill one member); the adapter's calls are the same on either scheme.
describe("a member without quorum", () => {
  const bucket = useLocalSnapshotBucket(`${CLUSTER}/`);

  test("still answers Status with its revision and serves a snapshot of its own data", async (t) => {
    const cluster = await startEtcdCluster(t, { size: 3 });
    const [survivor, ...lost] = cluster.members;
    assert.ok(survivor !== undefined);
    const writer = new Etcd3({
      hosts: cluster.clientUrls,
      faultHandling: { host: () => noop, global: noop },
    });
    t.after(() => writer.close());
    for (let i = 0; i < 50; i++) await writer.put(`kept/${i}`).value(String(i));
    for (const member of lost) await cluster.kill(member.name);
    const endpoint = new EtcdEndpoint(survivor.clientUrl, 5000);
    t.after(() => endpoint.close());
    // Past the election timeout (500 ms) the survivor knows no leader and can elect none.
    let status = await endpoint.status();
    for (let tries = 0; status.leaderId !== "0" && tries < 50; tries++) {
      await sleep(100);
      status = await endpoint.status();
    }
    assert.equal(status.leaderId, "0", "the survivor still names a leader");
    const uploader = new SnapshotUploader({
      store: new SnapshotStore(bucket.snapshotClient(), SNAPSHOT_BUCKET, CLUSTER),
      tuning: uploadTuning(256),
    });
    const record = await uploader.take({
      source: endpoint,
      member: { instanceId: survivor.name, memberId: status.memberId },
      token: TOKEN,
      generation: 1,
      timeoutMs: 30_000,
      now: Date.now,
    });
    const got = await bucket
      .operatorClient()
      .send(new GetObjectCommand({ Bucket: SNAPSHOT_BUCKET, Key: record.key }));
    const snapshot = await snapshotStatus(Buffer.from((await got.Body?.transformToByteArray()) ?? []));
    assert.equal(snapshot.revision, record.revision, "nothing can be written without quorum");
    assert.equal(record.maxRevision, record.revision);
    assert.ok(snapshot.totalKey >= 50);
  });
});
