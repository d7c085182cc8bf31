// The object the snapshot adapter uploads is restorable, as the boot script will restore it: a real
// etcd 3.4 cluster with mutual TLS is snapshotted into S3 (s3rver behind the IAM gate), the object is
// fetched through a presigned URL (the node role has no S3 rights) and checked against the recorded
// hash, `etcdctl snapshot restore` (3.4; it checks etcd's appended SHA-256 itself) builds three data
// dirs for a new generation — new member names, new peer URLs, a new token — and the three members
// start on them with mutual TLS and form a new cluster (a new cluster ID) that serves every key and
// revision the snapshot holds.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import type { Etcd3 } from "etcd3";
import { EtcdEndpoint } from "../../lambdas/adapters/etcd/endpoint";
import { SnapshotStore, SnapshotUploader, uploadTuning } from "../../lambdas/adapters/snapshots";
import type { SnapshotRecord } from "../../lambdas/domain/durability";
import type { CertificateAuthority } from "../../lambdas/pki/certificate-authority";
import { etcdClient } from "../../local/simulator/etcd-client";
import { formatInitialCluster } from "../helpers/etcd/cluster";
import { freePort, type LoopbackBlock, reserveLoopbackBlock } from "../helpers/etcd/loopback";
import { EtcdProcess, tail } from "../helpers/etcd/process";
import { httpsGet, TlsEtcdCluster } from "../helpers/etcd/tls-cluster";
import { type Credentials, issueTo, newCertificateAuthority, useLocalKms } from "../helpers/pki";
import { SNAPSHOT_BUCKET, useLocalSnapshotBucket } from "../helpers/s3";

const CLUSTER = "restore-it";
const run = promisify(execFile);

interface RestoredMember {
  readonly name: string;
  readonly ip: string;
  readonly peerUrl: string;
  readonly clientUrl: string;
  readonly dir: string;
}

describe("a snapshot the adapter uploaded restores as a new generation", () => {
  const kms = useLocalKms();
  const bucket = useLocalSnapshotBucket(`${CLUSTER}/`);
  let peerCa: CertificateAuthority;
  let clientCa: CertificateAuthority;
  let root: Credentials;
  let original: TlsEtcdCluster;
  let block: LoopbackBlock;
  let root2: string;
  const processes: EtcdProcess[] = [];
  const clients: Etcd3[] = [];
  const written = new Map<string, string>();
  let record: SnapshotRecord;
  let originalClusterId: string;

  const tls = () => ({ ca: clientCa.pem, cert: root.certificatePem, key: root.privateKeyPem });

  before(async () => {
    peerCa = await newCertificateAuthority(kms, "peer");
    clientCa = await newCertificateAuthority(kms, "client");
    root = await issueTo(clientCa, { kind: "control-plane" });
    block = reserveLoopbackBlock();
    root2 = mkdtempSync(join(tmpdir(), "etcd-asg-restore-"));
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
    await Promise.all(processes.map((p) => p.kill()));
    await original?.stop();
    block?.release();
    if (root2 !== undefined) rmSync(root2, { recursive: true, force: true });
  });

  test("fetched through a presigned URL, checked, restored by etcdctl and served by three new members", async () => {
    // The node API presigns; the node fetches without credentials and checks the hash it was given.
    const url = await new SnapshotStore(bucket.snapshotClient(), SNAPSHOT_BUCKET, CLUSTER).presignedGet(
      record.key,
      300,
    );
    const fetched = Buffer.from(await (await fetch(url)).arrayBuffer());
    assert.equal(createHash("sha256").update(fetched).digest("hex"), record.sha256);
    const file = join(root2, "snapshot.db");
    writeFileSync(file, fetched);

    const members: RestoredMember[] = [];
    for (let i = 0; i < 3; i++) {
      const ip = block.address(31 + i);
      const name = `i-0${randomBytes(8).toString("hex")}`;
      members.push({
        name,
        ip,
        peerUrl: `https://${ip}:${await freePort(ip)}`,
        clientUrl: `https://${ip}:${await freePort(ip)}`,
        dir: join(root2, name),
      });
    }
    const initialCluster = formatInitialCluster(members);
    const token = "restore-it-g2";
    for (const member of members) {
      // As the boot script will: etcdctl 3.4 checks the appended SHA-256 (no --skip-hash-check).
      await run(
        "etcdctl",
        [
          "snapshot",
          "restore",
          file,
          `--name=${member.name}`,
          `--initial-cluster=${initialCluster}`,
          `--initial-cluster-token=${token}`,
          `--initial-advertise-peer-urls=${member.peerUrl}`,
          `--data-dir=${join(member.dir, "data")}`,
        ],
        { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ETCDCTL_API: "3" } },
      );
      await writeCertificates(member);
      processes.push(launch(member, initialCluster, token));
    }
    try {
      await Promise.all(members.map((m) => waitHealthy(m)));
    } catch (error) {
      for (const member of members)
        console.error(`--- ${member.name}\n${tail(join(member.dir, "etcd.log"), 30)}`);
      throw error;
    }

    const reader = etcdClient(
      members.map((m) => m.clientUrl),
      tls(),
    );
    clients.push(reader);
    const all = await reader.getAll().prefix("k/").strings();
    assert.deepEqual(new Map(Object.entries(all)), written);
    const status = await reader.maintenance.status();
    assert.notEqual(status.header.cluster_id, originalClusterId, "a new generation is a new cluster");
    assert.ok(Number(status.header.revision) >= record.revision, "revisions continue from the snapshot");
    const listed = (await reader.cluster.memberList({})).members.map((m) => m.name).sort();
    assert.deepEqual(listed, members.map((m) => m.name).sort());
    // It takes writes: the new generation has its quorum.
    await reader.put("after-restore").value("yes");
    assert.equal(await reader.get("after-restore").string(), "yes");
  });

  async function writeCertificates(member: RestoredMember): Promise<void> {
    const node = { instanceId: member.name, privateIp: member.ip };
    const peer = await issueTo(peerCa, { kind: "peer", node });
    const server = await issueTo(clientCa, { kind: "server", node });
    const files: [string, string][] = [
      ["peer-ca.crt", peerCa.pem],
      ["client-ca.crt", clientCa.pem],
      ["peer.crt", peer.certificatePem],
      ["peer.key", peer.privateKeyPem],
      ["server.crt", server.certificatePem],
      ["server.key", server.privateKeyPem],
    ];
    for (const [name, content] of files) writeFileSync(join(member.dir, name), content, { mode: 0o600 });
  }

  function launch(member: RestoredMember, initialCluster: string, token: string): EtcdProcess {
    const file = (name: string) => join(member.dir, name);
    return EtcdProcess.start(
      [
        `--name=${member.name}`,
        `--data-dir=${file("data")}`,
        `--listen-client-urls=${member.clientUrl}`,
        `--advertise-client-urls=${member.clientUrl}`,
        `--listen-peer-urls=${member.peerUrl}`,
        `--initial-advertise-peer-urls=${member.peerUrl}`,
        // Ignored by etcd once the data dir exists, as it does after a restore; given as the boot
        // script gives it.
        `--initial-cluster=${initialCluster}`,
        "--initial-cluster-state=new",
        `--initial-cluster-token=${token}`,
        "--heartbeat-interval=50",
        "--election-timeout=500",
        "--client-cert-auth",
        `--trusted-ca-file=${file("client-ca.crt")}`,
        `--cert-file=${file("server.crt")}`,
        `--key-file=${file("server.key")}`,
        "--peer-client-cert-auth",
        // On loopback every peer connects from 127.0.0.1, which no certificate names (tls-cluster.ts).
        "--experimental-peer-skip-client-san-verification",
        `--peer-trusted-ca-file=${file("peer-ca.crt")}`,
        `--peer-cert-file=${file("peer.crt")}`,
        `--peer-key-file=${file("peer.key")}`,
        "--logger=zap",
        "--log-outputs=stderr",
      ],
      file("etcd.log"),
    );
  }

  async function waitHealthy(member: RestoredMember, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const { ca, cert, key } = tls();
    while (Date.now() < deadline) {
      const answer = await httpsGet(`${member.clientUrl}/health`, { ca, cert, key }).catch(() => undefined);
      if (answer?.status === 200 && JSON.parse(answer.body).health === "true") return;
      await sleep(100);
    }
    throw new Error(`restored member ${member.name} was not healthy within ${timeoutMs} ms`);
  }
});
