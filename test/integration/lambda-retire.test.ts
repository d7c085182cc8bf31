// A container retired by a deploy while it runs an invocation is let go once nothing runs in it,
// also when it dies with the invocation unanswered: its retire timer must end, or the simulator's
// process never exits (seen as a roll e2e file that hung after a failed assertion).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { LambdaFunction, type LambdaFunctionOptions } from "../../local/simulator/lambda-function";
import { lambdaNodeBinary } from "../../local/simulator/lambda-runtime";

const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

test("a retired container that dies mid-invocation leaves no timer behind", async (t) => {
  const code = mkdtempSync(join(tmpdir(), "etcd-asg-retire-"));
  t.after(() => rmSync(code, { recursive: true, force: true }));
  mkdirSync(join(code, "lib"));
  writeFileSync(join(code, "lib/index.js"), "exports.handler = () => new Promise(() => {});\n");
  const options: LambdaFunctionOptions = {
    name: "stuck",
    arn: "arn:aws:lambda:us-east-1:123456789012:function:stuck",
    codeDir: code,
    handler: "lib/index.handler",
    node: lambdaNodeBinary("nodejs24.x"),
    env: { PATH: "/usr/bin:/bin" },
    timeoutMs: 60_000,
    memoryMb: 128,
    serial: false,
    logFile: join(code, "log"),
  };
  const fn = new LambdaFunction(options);
  t.after(() => fn.stop());
  const before = timers();
  const invocation = fn.invoke({}).then(
    () => "answered",
    (error: Error) => error.message,
  );
  await sleep(1000); // the container has started and runs the invocation
  fn.deploy(options); // the running container retires once idle
  assert.equal(fn.crash(), 1, "the retiring container was running");
  assert.match(await invocation, /Runtime\.ExitError/);
  await sleep(300); // the retire timer's next ticks
  assert.equal(timers(), before, "no timer is left running");
});
