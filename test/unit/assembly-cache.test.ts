// The simulator's cache of synthesized cloud assemblies keeps the newest ones and never removes one
// a live process has claimed: a simulator's functions load their bundles from it at every cold start
// (parallel test files once pruned one under a running simulator, whose next cold start failed).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { claimAssembly, pruneAssemblies } from "../../local/stack/assembly-cache";

let cache: string;

const nameOf = (index: number) => index.toString(16).padStart(20, "0");

/** An assembly named like the cache's, claimed by `pids` as those processes would leave it, last
 * used `ageS` seconds ago. */
function assembly(index: number, ageS: number, pids: readonly number[] = []): string {
  const dir = join(cache, nameOf(index));
  mkdirSync(join(dir, ".in-use"), { recursive: true });
  writeFileSync(join(dir, "EtcdAsg.template.json"), "{}");
  for (const pid of pids) writeFileSync(join(dir, ".in-use", String(pid)), "");
  const at = new Date(Date.now() - ageS * 1000);
  utimesSync(dir, at, at);
  return dir;
}

describe("the cloud assembly cache", () => {
  beforeEach(() => {
    cache = mkdtempSync(join(tmpdir(), "etcd-asg-assembly-cache-"));
  });
  afterEach(() => rmSync(cache, { recursive: true, force: true }));

  test("keeps the newest assemblies and removes the older ones no live process has claimed", async () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      const exited = spawn("true");
      await new Promise((resolve) => exited.on("exit", resolve));
      const oldest = assembly(0, 100, [child.pid as number]);
      const second = assembly(1, 90, [exited.pid as number]);
      const third = assembly(2, 80);
      for (const i of [3, 4]) assembly(i, 100 - i * 10);
      assert.equal(claimAssembly(third), true);
      pruneAssemblies(cache, 2);
      assert.equal(existsSync(oldest), true, "claimed by a live process: kept");
      assert.equal(existsSync(second), false, "claimed by a process that has exited: removed");
      assert.equal(existsSync(third), true, "claimed by this process, which marked it used now: kept");
      assert.deepEqual(
        readdirSync(cache).sort(),
        [0, 2, 4].map(nameOf),
        "the newest (4, 3 marked used now) kept, nothing left renamed aside",
      );
    } finally {
      child.kill();
    }
  });

  test("a claim on an assembly that is gone fails, and creates nothing", () => {
    const gone = join(cache, "0".repeat(20));
    assert.equal(claimAssembly(gone), false);
    assert.equal(existsSync(gone), false);
  });
});
