// The snapshot upload as a Lambda function runs it, alone in its own Node process so that the
// process's peak resident memory (VmHWM) is the upload's: bundled by the memory test with the
// Lambdas' esbuild options and run on Lambda's Node. Reads its job as JSON on stdin (etcd member and
// its TLS identity, S3 endpoint and credentials, function memory) and prints one JSON line: the
// snapshot record, VmHWM before the snapshot began (every module loaded, one status call and one S3
// listing made) and after it, and how long the snapshot took.
import { readFileSync } from "node:fs";
import { S3Client } from "@aws-sdk/client-s3";
import { EtcdEndpoint } from "../../lambdas/adapters/etcd/endpoint";
import { SnapshotStore, SnapshotUploader, uploadTuning } from "../../lambdas/adapters/snapshots";

export interface UploadJob {
  readonly etcd: {
    readonly url: string;
    readonly caPem: string;
    readonly certificatePem: string;
    readonly privateKeyPem: string;
    readonly instanceId: string;
  };
  readonly s3: {
    readonly endpoint: string;
    readonly region: string;
    readonly credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
    readonly bucket: string;
  };
  readonly clusterName: string;
  readonly token: string;
  readonly memoryMb: number;
}

export interface UploadOutcome {
  readonly record: Awaited<ReturnType<SnapshotUploader["take"]>>;
  readonly baselineKb: number;
  readonly peakKb: number;
  readonly durationMs: number;
}

function vmHwmKb(): number {
  return Number(/^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? Number.NaN);
}

async function main(): Promise<void> {
  const job = JSON.parse(readFileSync(0, "utf8")) as UploadJob;
  const { caPem, certificatePem, privateKeyPem } = job.etcd;
  const endpoint = new EtcdEndpoint(job.etcd.url, 10_000, async () => ({
    caPem,
    certificatePem,
    privateKeyPem,
  }));
  const s3 = new S3Client({
    endpoint: job.s3.endpoint,
    region: job.s3.region,
    credentials: job.s3.credentials,
    forcePathStyle: true,
  });
  const store = new SnapshotStore(s3, job.s3.bucket, job.clusterName);
  const uploader = new SnapshotUploader({ store, tuning: uploadTuning(job.memoryMb) });
  // A warm container: etcd3, gRPC and the S3 client loaded and connected.
  const status = await endpoint.status();
  await store.list();
  const baselineKb = vmHwmKb();
  const started = Date.now();
  const record = await uploader.take({
    source: endpoint,
    member: { instanceId: job.etcd.instanceId, memberId: status.memberId },
    token: job.token,
    generation: 1,
    timeoutMs: 600_000,
    now: Date.now,
  });
  const outcome: UploadOutcome = { record, baselineKb, peakKb: vmHwmKb(), durationMs: Date.now() - started };
  endpoint.close();
  s3.destroy();
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
