// A Lambda function run by the simulator's runtime whose handler hangs when the event says
// `{"hang": true}` and otherwise answers its container's pid: the bed of the container-fault tests.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { LambdaFunction, type LambdaFunctionOptions } from "../../local/simulator/lambda-function";
import { lambdaNodeBinary } from "../../local/simulator/lambda-runtime";

export function crashable(
  t: TestContext,
  timeoutMs = 60_000,
): { fn: LambdaFunction; options: LambdaFunctionOptions } {
  const code = mkdtempSync(join(tmpdir(), "etcd-asg-crash-"));
  t.after(() => rmSync(code, { recursive: true, force: true }));
  mkdirSync(join(code, "lib"));
  writeFileSync(
    join(code, "lib/index.js"),
    "exports.handler = async (event) => event.hang ? new Promise(() => {}) : process.pid;\n",
  );
  const options: LambdaFunctionOptions = {
    name: "crashable",
    arn: "arn:aws:lambda:us-east-1:123456789012:function:crashable",
    codeDir: code,
    handler: "lib/index.handler",
    node: lambdaNodeBinary("nodejs24.x"),
    env: { PATH: "/usr/bin:/bin" },
    timeoutMs,
    memoryMb: 128,
    serial: false,
    logFile: join(code, "log"),
  };
  const fn = new LambdaFunction(options);
  t.after(() => fn.stop());
  return { fn, options };
}
