// `npm run local` interrupted with Ctrl-C (SIGINT) at two moments — while the simulator is still
// starting, and once etcd runs on its instances — stops everything the run started, removes its files
// and exits 130: no process of it (boot script, etcd, Lambda worker) is left.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";

const ROOT = resolve(__dirname, "../..");

/** PIDs of the processes whose command line or environment names `path` (etcd's data dir, the boot
 * script's HOME, a worker's log file). */
function processesUsing(path: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = ["cmdline", "environ"].map((f) => readFileSync(`/proc/${entry}/${f}`, "latin1")).join("");
      if (text.includes(path)) found.push(Number(entry));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

for (const [moment, sendAt] of [
  ["while the simulator starts", /simulator files in /],
  ["once etcd runs", /member: member .* added/],
] as const) {
  test(`Ctrl-C ${moment}: everything stops, the files go and the exit code is 130`, async () => {
    const cli = spawn(process.execPath, ["--import", "tsx", "local/cli.ts", "--scenario", "bootstrap"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise<number | null>((done) => cli.once("exit", (code) => done(code)));
    let root: string | undefined;
    try {
      for await (const line of createInterface({ input: cli.stdout })) {
        root ??= /simulator files in (\S+)/.exec(line)?.[1];
        if (sendAt.test(line)) {
          cli.kill("SIGINT");
          break;
        }
      }
    } finally {
      if (cli.exitCode === null) cli.stdout.resume();
    }
    assert.equal(await exited, 130);
    assert.ok(root, "the run named its files");
    assert.equal(existsSync(root), false, `${root} removed`);
    assert.deepEqual(processesUsing(root), [], "no process of the run is left");
  });
}
