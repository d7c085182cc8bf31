// The snapshot function itself, measured: on the simulator (the stack's template, IAM enforced), a
// 3-member cluster is filled past 256 MiB and `{"operation": "snapshot"}` runs the real snapshot
// bundle in the simulator's Lambda runtime on Lambda's Node, which samples the container's peak
// resident memory (VmHWM) and kills it past the function's MemorySize as Lambda would. The object
// in the stack's bucket is then fetched, hash-checked and read by `etcdctl snapshot status`.
// (test/integration/snapshot-memory.test.ts restores one of this size and checks its keys.)
//
// About 1-2 min on two cores; the figures are printed:
// `npx tsx --test test/e2e/snapshot-large.test.ts 2>&1 | grep 'large snapshot'`.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { etcdClient } from "../../local/simulator/etcd-client";
import { downloadHashed, fillMiB, MIB } from "../helpers/large-store";
import { startSimulator } from "./simulator-bed";

/** 1 MiB values: few keys, so the fill is fast. */
const VALUES = 272;

test("a snapshot of a cluster holding over 256 MiB stays within the snapshot function's memory", async (t) => {
  const sim = await startSimulator(t, { size: 3 });
  await sim.waitConverged(120_000);
  const figures: string[] = [];
  t.after(() => {
    for (const line of figures) console.log(`# large snapshot: ${line}`);
  });

  const client = etcdClient(sim.clientUrls(), await sim.etcdTls());
  t.after(() => client.close());
  const filled = Date.now();
  await fillMiB(client, VALUES);
  const { dbSize } = await client.maintenance.status();
  assert.ok(Number(dbSize) >= 256 * MIB, `etcd holds only ${Number(dbSize) / MIB} MiB`);
  figures.push(`fill ${VALUES} MiB on 3 members: ${((Date.now() - filled) / 1000).toFixed(1)} s`);

  const model = sim.stack.functions.find((fn) => fn.role === "snapshot");
  assert.ok(model, "the stack has a snapshot function");
  const fn = sim.fn("snapshot");
  const started = Date.now();
  const taken = (await fn.invoke({ operation: "snapshot" })) as {
    key: string;
    snapshot: { size: number; sha256: string };
  };
  const seconds = (Date.now() - started) / 1000;
  figures.push(
    `snapshot ${(taken.snapshot.size / MIB).toFixed(0)} MiB in ${seconds.toFixed(1)} s (cold start included); ` +
      `peak RSS of the function's container ${fn.peakMemoryMb} MiB for its MemorySize ${model.memoryMb} MB`,
  );
  assert.ok(taken.snapshot.size >= 256 * MIB);
  // The runtime kills a container past MemorySize, so the snapshot's success already says it fit;
  // three quarters leaves the margin the integration test asks of the upload alone.
  assert.ok(fn.peakMemoryMb < 0.75 * model.memoryMb, `peak RSS ${fn.peakMemoryMb} MiB`);

  const dir = mkdtempSync(join(tmpdir(), "etcd-asg-large-snapshot-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "snapshot.db");
  const s3 = sim.s3Client();
  t.after(() => s3.destroy());
  const bucket = sim.stack.outputs.SnapshotBucketName ?? "";
  assert.equal(await downloadHashed(s3, bucket, taken.key, file), taken.snapshot.sha256);
  const { stdout } = await promisify(execFile)("etcdctl", ["snapshot", "status", file, "-w", "json"], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ETCDCTL_API: "3" },
  });
  assert.ok(JSON.parse(stdout).totalKey >= VALUES);
});
