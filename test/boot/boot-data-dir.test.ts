// The boot script's data dir rules: keep a data dir initialised for this member of this cluster,
// move any other non-empty data dir aside (never delete it), start fresh from an empty one.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type BootCase, withBootCase } from "./boot-harness";

const ok = (body: string) => ({ status: 200, body });

async function seedDataDir(c: BootCase, marker?: { token: string; name: string }): Promise<void> {
  await mkdir(join(c.dataDir, "member/snap"), { recursive: true });
  await writeFile(join(c.dataDir, "member/snap/db"), "old data");
  if (marker) {
    await writeFile(
      `${c.dataDir}.etcd-asg`,
      `ETCD_INITIAL_CLUSTER_TOKEN="${marker.token}"\nETCD_NAME="${marker.name}"\n`,
    );
  }
}

/** The one `etcd.moved-*` sibling of the data dir, checked to hold the old data. */
async function movedAside(c: BootCase): Promise<string> {
  const parent = join(c.dataDir, "..");
  const moved = (await readdir(parent)).filter((name) => /^etcd\.moved-\d{8}T\d{6}Z$/.test(name));
  assert.equal(moved.length, 1, `expected one moved-aside data dir, found ${moved.join(", ")}`);
  const path = join(parent, moved[0] ?? "");
  assert.equal(await readFile(join(path, "member/snap/db"), "utf8"), "old data");
  return path;
}

async function assertMarker(c: BootCase, token: string): Promise<void> {
  assert.equal(
    await readFile(`${c.dataDir}.etcd-asg`, "utf8"),
    `ETCD_INITIAL_CLUSTER_TOKEN="${token}"\nETCD_NAME="${c.instanceId}"\n`,
  );
}

describe("boot script data dir rules", () => {
  it("uses the published flags and writes the marker next to a missing data dir", async () => {
    await withBootCase(async (c) => {
      c.onApi(() => ok(c.config()));
      const result = await c.run(["-o", "flags"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /--initial-cluster-state=new/);
      await assertMarker(c, "etcd-asg-gen-1");
      assert.equal(existsSync(c.dataDir), false, "etcd creates the data dir itself");
    });
  });

  it("starts as is from a data dir initialised for this member of this cluster", async () => {
    await withBootCase(async (c) => {
      await seedDataDir(c, { token: "etcd-asg-gen-1", name: c.instanceId });
      c.onApi(() => ok(c.config()));
      const result = await c.run(["-o", "flags"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stderr,
        /already initialised: data dir .* belongs to i-\w+ in cluster etcd-asg-gen-1/,
      );
      assert.equal(await readFile(join(c.dataDir, "member/snap/db"), "utf8"), "old data");
      assert.deepEqual(
        (await readdir(join(c.dataDir, ".."))).filter((n) => n.includes("moved")),
        [],
      );
    });
  });

  it("moves aside the data dir of another cluster and joins fresh", async () => {
    await withBootCase(async (c) => {
      await seedDataDir(c, { token: "etcd-asg-gen-0", name: c.instanceId });
      c.onApi(() => ok(c.config()));
      const result = await c.run(["-o", "flags"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stderr,
        /moving data dir .* aside to .*: it belongs to another cluster \(token etcd-asg-gen-0/,
      );
      const moved = await movedAside(c);
      assert.match(await readFile(`${moved}.etcd-asg`, "utf8"), /etcd-asg-gen-0/);
      assert.deepEqual(await readdir(c.dataDir), [], "a fresh, empty data dir takes its place");
      await assertMarker(c, "etcd-asg-gen-1");
    });
  });

  it("moves aside a non-empty data dir without a marker", async () => {
    await withBootCase(async (c) => {
      await seedDataDir(c);
      c.onApi(() => ok(c.config()));
      const result = await c.run(["-o", "env"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /no valid marker .* says which cluster and member it belongs to/);
      await movedAside(c);
      await assertMarker(c, "etcd-asg-gen-1");
    });
  });

  it("moves aside the data dir of another member", async () => {
    await withBootCase(async (c) => {
      await seedDataDir(c, { token: "etcd-asg-gen-1", name: "i-0123456789abcdef0" });
      c.onApi(() => ok(c.config()));
      const result = await c.run(["-o", "dropin"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /it belongs to another member \(i-0123456789abcdef0\)/);
      await movedAside(c);
    });
  });

  it("moves aside the data dir of a removed member and reports not a member", async () => {
    await withBootCase(async (c) => {
      await seedDataDir(c, { token: "etcd-asg-gen-1", name: c.instanceId });
      c.onApi(() => ok('ETCD_ASG_DECISION="not-a-member"\nETCD_ASG_REASON="cluster full"\n'));
      const result = await c.run(["-o", "flags"], { ETCD_ASG_DATA_DIR: c.dataDir });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /this instance is not a member any more \(removed member\)/);
      assert.match(result.stderr, /not a member: etcd is not started/);
      await movedAside(c);
    });
  });

  it("exits 6 when the data dir path is not a directory", async () => {
    await withBootCase(async (c) => {
      await mkdir(join(c.dataDir, ".."), { recursive: true });
      await writeFile(c.dataDir, "a file");
      c.onApi(() => ok(c.config()));
      const result = await c.run(["-o", "flags"]);
      assert.equal(result.code, 6);
      assert.match(result.stderr, /data dir .*\/var\/lib\/etcd exists and is not a directory/);
      assert.equal(result.stdout, "");
    });
  });
});
