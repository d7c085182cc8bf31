// Chaos's `lambda-crash` fault: LambdaFunction.crash() kills the function's running container as a
// crashed Lambda container dies. The invocation it ran fails with Runtime.ExitError and the next one
// cold-starts in a new process.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { LambdaFunction } from "../../local/simulator/lambda-function";
import { lambdaNodeBinary } from "../../local/simulator/lambda-runtime";

test("crash() kills the running container: its invocation fails and the next one cold-starts", async (t) => {
  const code = mkdtempSync(join(tmpdir(), "etcd-asg-crash-"));
  t.after(() => rmSync(code, { recursive: true, force: true }));
  mkdirSync(join(code, "lib"));
  writeFileSync(
    join(code, "lib/index.js"),
    "exports.handler = async (event) => event.hang ? new Promise(() => {}) : process.pid;\n",
  );
  const fn = new LambdaFunction({
    name: "crashable",
    arn: "arn:aws:lambda:us-east-1:123456789012:function:crashable",
    codeDir: code,
    handler: "lib/index.handler",
    node: lambdaNodeBinary("nodejs24.x"),
    env: { PATH: "/usr/bin:/bin" },
    timeoutMs: 60_000,
    memoryMb: 128,
    serial: false,
    logFile: join(code, "log"),
  });
  t.after(() => fn.stop());
  assert.equal(fn.crash(), 0, "no container runs before the first invocation");

  const firstPid = Number(await fn.invoke({}));
  const hanging = fn.invoke({ hang: true });
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(fn.crash(), 1, "the one running container is killed");
  await assert.rejects(hanging, { name: "FunctionError", message: /Runtime\.ExitError|exited/ });

  const secondPid = Number(await fn.invoke({}));
  assert.notEqual(secondPid, firstPid, "the next invocation runs in a fresh container");
});
