// The recovery baseline: an operator with perfect knowledge restores a lost cluster by hand. Before
// the clock, the floor's cluster is snapshotted into S3 the way etcd-asg's snapshot function does it
// (the same uploader, streamed into s3rver, the SHA-256 recorded) and then lost whole; three fresh
// members have their certificates. Timed: on each fresh member at once, download the snapshot
// through a presigned GET, check its size and SHA-256, `etcdctl snapshot restore` it with the new
// initial cluster and a new token, and start etcd; until all three answer /health.
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { promisify } from "node:util";
import { S3Client } from "@aws-sdk/client-s3";
import { EtcdEndpoint } from "../../lambdas/adapters/etcd/endpoint";
import { SnapshotStore, SnapshotUploader, uploadTuning } from "../../lambdas/adapters/snapshots";
import { type LocalS3, S3RVER_ACCESS_KEY, startLocalS3 } from "../../local/s3/server";
import { now, since } from "../measure";
import { type BenchMember, type EtcdBed, initialCluster } from "./etcd-bed";
import type { FloorCluster } from "./flows";

const run = promisify(execFile);
const BUCKET = "bench-snapshots";
const CLUSTER = "bench";
/** The restore tool of the etcd the floor and the simulator run (3.4). */
const ETCDCTL = "/usr/bin/etcdctl";

/** A snapshot object in S3 and what the operator checks it against. */
export interface FloorSnapshot {
  readonly url: string;
  readonly size: number;
  readonly sha256: string;
}

/** The floor's S3: s3rver on 127.0.0.1 with the snapshot bucket, as the simulator serves it. */
export class FloorBucket {
  private constructor(
    private readonly s3: LocalS3,
    private readonly client: S3Client,
  ) {}

  static async start(): Promise<FloorBucket> {
    const s3 = await startLocalS3([BUCKET]);
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: S3RVER_ACCESS_KEY, secretAccessKey: S3RVER_ACCESS_KEY },
    });
    return new FloorBucket(s3, client);
  }

  /** Streams a snapshot of `cluster`'s first member into the bucket (untimed) and presigns its GET. */
  async snapshot(bed: EtcdBed, cluster: FloorCluster): Promise<FloorSnapshot> {
    const source = cluster.members[0];
    if (source === undefined) throw new Error("the floor cluster has no member to snapshot");
    const tls = bed.operatorTls;
    const endpoint = new EtcdEndpoint(source.clientUrl, 10_000, async () => ({
      caPem: tls.ca,
      certificatePem: tls.cert,
      privateKeyPem: tls.key,
    }));
    const store = new SnapshotStore(this.client, BUCKET, CLUSTER);
    try {
      const status = await endpoint.status();
      const uploader = new SnapshotUploader({ store, tuning: uploadTuning(256) });
      const record = await uploader.take({
        source: endpoint,
        member: { instanceId: source.name, memberId: status.memberId },
        token: cluster.token,
        generation: 1,
        timeoutMs: 30_000,
        now: Date.now,
      });
      return { url: await store.presignedGet(record.key, 900), size: record.size, sha256: record.sha256 };
    } finally {
      endpoint.close();
    }
  }

  async stop(): Promise<void> {
    this.client.destroy();
    await this.s3.stop();
  }
}

/**
 * The timed manual restore of `snapshot` on `members` (fresh, not started, certificates issued):
 * each downloads and checks it, restores it with the new initial cluster and token, starts etcd;
 * ms until all answer /health. Returns the new cluster for the bed to stop.
 */
export async function manualRestore(
  bed: EtcdBed,
  snapshot: FloorSnapshot,
  members: readonly BenchMember[],
): Promise<{ ms: number; cluster: FloorCluster }> {
  const token = `bench-restored-${randomBytes(6).toString("hex")}`;
  const initial = initialCluster(members);
  const start = now();
  await Promise.all(
    members.map(async (member) => {
      const file = `${bed.dataDir(member)}.snapshot.db`;
      await download(snapshot, file);
      await run(
        ETCDCTL,
        [
          "snapshot",
          "restore",
          file,
          `--name=${member.name}`,
          `--initial-cluster=${initial}`,
          `--initial-cluster-token=${token}`,
          `--initial-advertise-peer-urls=${member.peerUrl}`,
          `--data-dir=${bed.dataDir(member)}`,
        ],
        { env: { ...process.env, ETCDCTL_API: "3" } },
      );
      bed.start(member, [
        `--initial-cluster=${initial}`,
        "--initial-cluster-state=new",
        `--initial-cluster-token=${token}`,
      ]);
    }),
  );
  await bed.waitHealthy(members);
  return { ms: since(start), cluster: { members: [...members], token } };
}

/** GET through the presigned URL, refused unless size and SHA-256 match, written to `file`. */
async function download(snapshot: FloorSnapshot, file: string): Promise<void> {
  const response = await fetch(snapshot.url);
  if (!response.ok) throw new Error(`the snapshot download answered ${response.status}`);
  const body = Buffer.from(await response.arrayBuffer());
  const sha256 = createHash("sha256").update(body).digest("hex");
  if (body.length !== snapshot.size || sha256 !== snapshot.sha256) {
    throw new Error(
      `refusing to restore: ${body.length} bytes with SHA-256 ${sha256}, expected ${snapshot.size} and ${snapshot.sha256}`,
    );
  }
  writeFileSync(file, body);
}
