// The object the snapshot adapter uploads is restorable, as the boot script will restore it: a real
// etcd 3.4 cluster with mutual TLS is snapshotted into S3 (s3rver behind the IAM gate), the object is
// fetched through a presigned URL (the node role has no S3 rights) and checked against the recorded
// hash, `etcdctl snapshot restore` (3.4; it checks etcd's appended SHA-256 itself) builds three data
// dirs for a new generation — new member names, new peer URLs, a new token — and the three members
// start on them with mutual TLS and form a new cluster (a new cluster ID) that serves every key and
// revision the snapshot holds.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Etcd3 } from "etcd3";
import { EtcdEndpoint } from "../../lambdas/adapters/etcd/endpoint";
import { SnapshotStore, SnapshotUploader, uploadTuning } from "../../lambdas/adapters/snapshots";
import type { SnapshotRecord } from "../../lambdas/domain/durability";
import type { CertificateAuthority } from "../../lambdas/pki/certificate-authority";
import { etcdClient } from "../../local/simulator/etcd-client";
import { RestoredEtcdCluster } from "../helpers/etcd/restored-cluster";
import { TlsEtcdCluster } from "../helpers/etcd/tls-cluster";
import { type Credentials, issueTo, newCertificateAuthority, useLocalKms } from "../helpers/pki";
import { SNAPSHOT_BUCKET, useLocalSnapshotBucket } from "../helpers/s3";

const CLUSTER = "restore-it";

describe("a snapshot the adapter uploaded restores as a new generation", () => {
  const kms = useLocalKms();
  const bucket = useLocalSnapshotBucket(`${CLUSTER}/`);
  let peerCa: CertificateAuthority;
  let clientCa: CertificateAuthority;
  let root: Credentials;
  let original: TlsEtcdCluster;
  let dir: string;
  let restored: RestoredEtcdCluster | undefined;
  const clients: Etcd3[] = [];
  const written = new Map<string, string>();
  let record: SnapshotRecord;
  let originalClusterId: string;

  const tls = () => ({ ca: clientCa.pem, cert: root.certificatePem, key: root.privateKeyPem });

  before(async () => {
    peerCa = await newCertificateAuthority(kms, "peer");
    clientCa = await newCertificateAuthority(kms, "client");
    root = await issueTo(clientCa, { kind: "control-plane" });
    dir = mkdtempSync(join(tmpdir(), "etcd-asg-restore-"));
    original = await TlsEtcdCluster.start({ size: 3, peerCa, clientCa, healthCheckIdentity: root });
    const writer = etcdClient(original.clientUrls, tls());
    clients.push(writer);
    // Overwrites and deletes too: the restored store must hold the last value of each key only.
    for (let i = 0; i < 300; i++) await writer.put(`k/${i % 200}`).value(`v${i}`);
    for (let i = 0; i < 300; i++) written.set(`k/${i % 200}`, `v${i}`);
    for (let i = 0; i < 20; i++) {
      await writer.delete().key(`k/${i}`);
      written.delete(`k/${i}`);
    }
    originalClusterId = (await writer.maintenance.status()).header.cluster_id;
    const source = original.members[1];
    assert.ok(source !== undefined);
    const endpoint = new EtcdEndpoint(source.clientUrl, 10_000, async () => ({
      caPem: clientCa.pem,
      certificatePem: root.certificatePem,
      privateKeyPem: root.privateKeyPem,
    }));
    try {
      const status = await endpoint.status();
      const uploader = new SnapshotUploader({
        store: new SnapshotStore(bucket.snapshotClient(), SNAPSHOT_BUCKET, CLUSTER),
        tuning: uploadTuning(256),
      });
      record = await uploader.take({
        source: endpoint,
        member: { instanceId: source.name, memberId: status.memberId },
        token: "restore-it-g1",
        generation: 1,
        timeoutMs: 30_000,
        now: Date.now,
      });
    } finally {
      endpoint.close();
    }
    // The old generation is gone for good.
    await original.stop();
  });

  after(async () => {
    for (const client of clients) client.close();
    await restored?.stop();
    await original?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test("fetched through a presigned URL, checked, restored by etcdctl and served by three new members", async () => {
    // The node API presigns; the node fetches without credentials and checks the hash it was given.
    const store = new SnapshotStore(bucket.snapshotClient(), SNAPSHOT_BUCKET, CLUSTER);
    const fetched = Buffer.from(await (await fetch(await store.presignedGet(record.key, 300))).arrayBuffer());
    assert.equal(createHash("sha256").update(fetched).digest("hex"), record.sha256);
    const snapshotFile = join(dir, "snapshot.db");
    writeFileSync(snapshotFile, fetched);
    restored = await RestoredEtcdCluster.restore({
      snapshotFile,
      size: 3,
      token: "restore-it-g2",
      peerCa,
      clientCa,
      healthCheckIdentity: root,
    });

    const reader = etcdClient(restored.clientUrls, tls());
    clients.push(reader);
    const all = await reader.getAll().prefix("k/").strings();
    assert.deepEqual(new Map(Object.entries(all)), written);
    const status = await reader.maintenance.status();
    assert.notEqual(status.header.cluster_id, originalClusterId, "a new generation is a new cluster");
    assert.ok(Number(status.header.revision) >= record.revision, "revisions continue from the snapshot");
    const listed = (await reader.cluster.memberList({})).members.map((m) => m.name).sort();
    assert.deepEqual(listed, restored.members.map((m) => m.name).sort());
    // It takes writes: the new generation has its quorum.
    await reader.put("after-restore").value("yes");
    assert.equal(await reader.get("after-restore").string(), "yes");
  });
});
