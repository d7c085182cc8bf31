// The simulator's processes die with the process that started them: on a SIGTERM nobody else handles
// (the test runner's, on a timeout), which still kills it, and on one its host handles by exiting.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { describe, test } from "node:test";
import { isRunning } from "../../local/simulator/processes";

const REPO = resolve(__dirname, "../..");

interface Child {
  readonly pid: number;
  /** The tracked process it started. */
  readonly tracked: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A Node process that starts a detached `sleep`, as the simulator starts etcd, and tracks it. */
function childTracking(hostHandlesSigterm: boolean): Promise<Child> {
  const code = `
    const { spawn } = require("node:child_process");
    const { trackProcess } = require(${JSON.stringify(`${REPO}/local/simulator/processes.ts`)});
    if (${hostHandlesSigterm}) process.on("SIGTERM", () => process.exit(143));
    const sleeper = spawn("sleep", ["300"], { detached: true, stdio: "ignore" });
    sleeper.unref();
    trackProcess(sleeper.pid);
    console.log(String(sleeper.pid));
    setInterval(() => undefined, 1000);`;
  const child = spawn(process.execPath, ["--import", "tsx", "-e", code], {
    cwd: REPO,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once("exit", (code, signal) => done({ code, signal })),
  );
  return new Promise((started, failed) => {
    child.stdout.once("data", (chunk: Buffer) => {
      const tracked = Number(chunk.toString().trim());
      if (!Number.isInteger(tracked) || child.pid === undefined) return failed(new Error(chunk.toString()));
      started({ pid: child.pid, tracked, exited });
    });
    child.once("exit", (status) => failed(new Error(`child exited (${status}) before it tracked a process`)));
  });
}

/** Whether `pid` ended within 2 s; killed if not, so a failing test leaves nothing behind. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && isRunning(pid); i++) await new Promise((r) => setTimeout(r, 20));
  if (!isRunning(pid)) return true;
  process.kill(pid, "SIGKILL");
  return false;
}

describe("the simulator's processes die with their starter", () => {
  test("a SIGTERM nobody handles kills what it tracked, and the process still dies of the signal", async () => {
    const child = await childTracking(false);
    assert.ok(isRunning(child.tracked), "the tracked process runs");
    process.kill(child.pid, "SIGTERM");
    assert.deepEqual(await child.exited, { code: null, signal: "SIGTERM" });
    assert.ok(await gone(child.tracked), `tracked process ${child.tracked} is gone`);
  });

  test("a SIGTERM its host handles by exiting kills what it tracked on the exit", async () => {
    const child = await childTracking(true);
    process.kill(child.pid, "SIGTERM");
    assert.deepEqual(await child.exited, { code: 143, signal: null });
    assert.ok(await gone(child.tracked), `tracked process ${child.tracked} is gone`);
  });
});
