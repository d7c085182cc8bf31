// The boot script's restore (issue 15): a member of a recovered generation downloads the snapshot
// through the URL the node API hands it, checks its size and SHA-256, restores it with the given
// command (placeholders replaced by its own paths) before etcd's first start, moving an old
// generation's data dir aside; a download that does not match is refused and etcd is not started.
// The snapshot is a real etcd 3.4's, restored by the real etcdctl and served by a real etcd.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createHash, randomInt } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { type BootCase, type FakeSystemctl, isConfigRequest, withBootCase } from "./boot-harness";

const run = promisify(execFile);
const TOKEN = "etcd-asg-gen-2";

/** A snapshot of a real etcd holding `restored/key`: taken once for the suite. */
let snapshot: { file: string; sha256: string; size: number };
let workDir = "";

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), "etcd-asg-boot-restore-"));
  const ip = `127.${randomInt(100, 250)}.${randomInt(1, 255)}.${randomInt(2, 255)}`;
  const client = `http://${ip}:2379`;
  const etcd = spawn(
    "etcd",
    [
      `--data-dir=${join(workDir, "source")}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=http://${ip}:2380`,
      `--initial-advertise-peer-urls=http://${ip}:2380`,
      `--initial-cluster=default=http://${ip}:2380`,
    ],
    { stdio: "ignore" },
  );
  try {
    const etcdctl = (...args: string[]) =>
      run("etcdctl", [`--endpoints=${client}`, ...args], { env: { ...process.env, ETCDCTL_API: "3" } });
    for (let i = 0; ; i++) {
      try {
        await etcdctl("put", "restored/key", "written-before-the-snapshot");
        break;
      } catch (error) {
        if (i > 100) throw error;
        await sleep(100);
      }
    }
    const file = join(workDir, "snapshot.db");
    await etcdctl("snapshot", "save", file);
    const bytes = await readFile(file);
    snapshot = { file, sha256: createHash("sha256").update(bytes).digest("hex"), size: bytes.length };
  } finally {
    etcd.kill("SIGKILL");
  }
});
after(() => rm(workDir, { recursive: true, force: true }));

/** Serves `bytes` on the case's address; the URL carries a query as a presigned one does. */
async function serve(c: BootCase, bytes: Buffer): Promise<{ url: string; server: Server }> {
  const server = createServer((_, res) => {
    res.writeHead(200, { "content-type": "application/octet-stream" });
    res.end(bytes);
  });
  await new Promise<void>((done) => server.listen(0, c.privateIp, done));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${c.privateIp}:${port}/etcd-asg/${TOKEN}/snap.db?X-Amz-Expires=900&X-Amz-Signature=abc%2F`,
    server,
  };
}

/** `claimed`: what the node API says of the snapshot, when not the truth. */
function restoreConfig(c: BootCase, url: string, claimed: { sha256?: string; size?: string } = {}): string {
  const { sha256 = snapshot.sha256, size = String(snapshot.size) } = claimed;
  const peer = `https://${c.privateIp}:2380`;
  const command = [
    "etcdctl snapshot restore {snapshot}",
    `--name=${c.instanceId}`,
    `--initial-cluster=${c.instanceId}=${peer}`,
    `--initial-cluster-token=${TOKEN}`,
    `--initial-advertise-peer-urls=${peer}`,
    "--data-dir={data-dir}",
  ].join(" ");
  return (
    c.config({ ETCD_INITIAL_CLUSTER_TOKEN: TOKEN, ETCD_ASG_REASON: "generation 2 restores snap.db" }) +
    [
      `ETCD_ASG_RESTORE_URL="${url}"`,
      `ETCD_ASG_RESTORE_SHA256="${sha256}"`,
      `ETCD_ASG_RESTORE_SIZE="${size}"`,
      `ETCD_ASG_RESTORE_REVISION="2"`,
      `ETCD_ASG_RESTORE_COMMAND="${command}"`,
    ].join("\n") +
    "\n"
  );
}

/** The old generation's data dir: a file and a marker of token 1. */
async function oldGeneration(c: BootCase): Promise<void> {
  await mkdir(c.dataDir, { recursive: true });
  await writeFile(join(c.dataDir, "old-generation-data"), "kept");
  await writeFile(
    `${c.dataDir}.etcd-asg`,
    `ETCD_INITIAL_CLUSTER_TOKEN="etcd-asg-gen-1"\nETCD_NAME="${c.instanceId}"\n`,
  );
}

async function movedAside(c: BootCase): Promise<string[]> {
  const parent = join(c.dataDir, "..");
  return (await readdir(parent)).filter(
    (name) => name.startsWith("etcd.moved-") && !name.endsWith(".etcd-asg"),
  );
}

/** A case whose data dir holds the old generation, with the snapshot served and etcd stopped after. */
async function withRestoreCase(
  fn: (c: BootCase, systemctl: FakeSystemctl, url: string) => Promise<void>,
): Promise<void> {
  await withBootCase(async (c) => {
    const systemctl = await c.fakeSystemctl();
    const { url, server } = await serve(c, await readFile(snapshot.file));
    try {
      await oldGeneration(c);
      await fn(c, systemctl, url);
    } finally {
      await systemctl.stopEtcd();
      server.closeAllConnections();
      server.close();
    }
  });
}

describe("boot script restore", () => {
  it("downloads, checks and restores the snapshot before etcd's first start; the old data dir is moved aside", async () => {
    await withRestoreCase(async (c, { env, stopEtcd }, url) => {
      c.onApi((request) =>
        isConfigRequest(request)
          ? { status: 200, body: restoreConfig(c, url) }
          : { status: 200, body: 'ETCD_ASG_STATUS="member"\n' },
      );
      const result = await c.run(["-o", "start"], env);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /moving data dir .* aside .*another cluster \(token etcd-asg-gen-1/);
      assert.match(result.stderr, /restored revision 2 into /);
      assert.ok(!result.stderr.includes("X-Amz-Signature"), "the presigned URL is never logged");
      const [aside] = await movedAside(c);
      assert.ok(aside !== undefined, "the old data dir was moved aside");
      assert.equal(await readFile(join(c.dataDir, "..", aside, "old-generation-data"), "utf8"), "kept");

      // The restored etcd serves the snapshot's key, over TLS with the node's own certificate.
      const { stdout } = await run(
        "etcdctl",
        [
          `--endpoints=https://${c.privateIp}:2379`,
          `--cacert=${join(c.pkiDir, "client-ca.crt")}`,
          `--cert=${join(c.pkiDir, "server.crt")}`,
          `--key=${join(c.pkiDir, "node.key")}`,
          "get",
          "restored/key",
          "--print-value-only",
        ],
        { env: { ...process.env, ETCDCTL_API: "3" } },
      );
      assert.equal(stdout.trim(), "written-before-the-snapshot");

      // Run again (a reboot): the data dir already holds generation 2 and is not restored over.
      await stopEtcd();
      const again = await c.run(["-o", "start"], env);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /already holds generation etcd-asg-gen-2: not restoring again/);
    });
  });

  it("chaos seed 12002: restores into a data dir that is a volume's mount point (as the stack mounts one), which cannot be removed or renamed", {
    skip: process.getuid?.() === 0 ? false : "mounting a volume needs root",
  }, async () => {
    await withBootCase(async (c) => {
      const systemctl = await c.fakeSystemctl();
      const { url, server } = await serve(c, await readFile(snapshot.file));
      await mkdir(c.dataDir, { recursive: true });
      await run("mount", ["-t", "tmpfs", "-o", "size=64m", "etcd-asg-boot-restore", c.dataDir]);
      try {
        c.onApi((request) =>
          isConfigRequest(request)
            ? { status: 200, body: restoreConfig(c, url) }
            : { status: 200, body: 'ETCD_ASG_STATUS="member"\n' },
        );
        const result = await c.run(["-o", "start"], systemctl.env);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stderr, /restored revision 2 into /);
        assert.deepEqual(await readdir(c.dataDir), ["member"], "the restored member dir is in the volume");
      } finally {
        await systemctl.stopEtcd();
        server.closeAllConnections();
        server.close();
        await run("umount", [c.dataDir]);
      }
    });
  });

  const wrongSha256 = createHash("sha256").update("another snapshot").digest("hex");
  // Messages are made once the snapshot exists (before()).
  const mismatches = [
    {
      claimed: { sha256: wrongSha256 },
      message: () => `the snapshot's SHA-256 is ${snapshot.sha256}, the node API says ${wrongSha256}`,
    },
    {
      claimed: { size: "7" },
      message: () => `the snapshot is ${snapshot.size} bytes, the node API says 7`,
    },
  ];
  for (const mismatch of mismatches) {
    const what = Object.keys(mismatch.claimed).join();
    it(`refuses a snapshot whose ${what} does not match, and does not start etcd`, async () => {
      await withRestoreCase(async (c, { env }, url) => {
        c.onApi(() => ({ status: 200, body: restoreConfig(c, url, mismatch.claimed) }));
        const result = await c.run(["-o", "start"], env);
        assert.equal(result.code, 10, result.stderr);
        assert.match(result.stderr, new RegExp(`refusing to restore: ${mismatch.message()}`));
        await assert.rejects(readFile(env.FAKE_SYSTEMCTL_LOG, "utf8"), "systemctl was never called");
        assert.deepEqual(await readdir(c.dataDir), [], "nothing restored into the data dir");
        assert.equal((await movedAside(c)).length, 1, "the old data dir is moved aside, not deleted");
      });
    });
  }

  it("refuses a restore that is not for this member or has no placeholders", async () => {
    await withBootCase(async (c) => {
      const body = restoreConfig(c, "http://127.0.0.1:1/x").replace(
        `--name=${c.instanceId}`,
        "--name=i-0000000000000000f",
      );
      c.onApi(() => ({ status: 200, body }));
      const result = await c.run(["-o", "env"]);
      assert.equal(result.code, 5, result.stderr);
      assert.match(result.stderr, /the restore command is not for i-\w+ in cluster etcd-asg-gen-2/);
    });
  });
});
