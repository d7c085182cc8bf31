// Template, bundles and simulator agree on Lambda's Node.js: every control-plane function of the
// synthesized template runs the same nodejsNN.x, esbuild targets nodeNN, and the simulator's Lambda
// workers run a Node NN binary — checked by invoking a handler that reports its own version.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { LambdaFunction } from "../../local/simulator/lambda-function";
import { lambdaHeapFlags, lambdaNodeBinary, runtimeNodeVersion } from "../../local/simulator/lambda-runtime";
import { synthesize } from "../../local/stack/synth";
import { ESBUILD_OPTIONS } from "../../scripts/build-lambdas";

test("the template's runtime, the bundles' esbuild target and the simulator's Node are one major", async (t) => {
  const { templatePath } = await synthesize({ "etcd-asg:clusterSize": "3" });
  const template = JSON.parse(readFileSync(templatePath, "utf8")) as {
    Resources: Record<
      string,
      { Type: string; Properties: { Runtime?: string; Tags?: Array<{ Key: string }> } }
    >;
  };
  const runtimes = new Set(
    Object.values(template.Resources)
      .filter(
        (r) =>
          r.Type === "AWS::Lambda::Function" &&
          r.Properties.Tags?.some((tag) => tag.Key === "etcd-asg:function"),
      )
      .map((r) => r.Properties.Runtime),
  );
  assert.deepEqual([...runtimes], ["nodejs24.x"], "every control-plane function runs one runtime");
  assert.equal(ESBUILD_OPTIONS.target, "node24");
  assert.match(runtimeNodeVersion(), /^v24\./);

  const fn = runtimeFunction(t, "version", "exports.handler = async () => process.version;\n", 128);
  assert.match(String(await fn.invoke({})), /^v24\./, "the worker runs on the runtime's Node");
  assert.throws(
    () => lambdaNodeBinary("nodejs22.x"),
    /run nodejs22\.x, but local\/lambda-runtime installs Node v24/,
  );
});

test("a worker's heap is sized from the function's MemorySize, as Lambda's runtime sizes it", async (t) => {
  const fn = runtimeFunction(
    t,
    "heap",
    'exports.handler = async () => require("node:v8").getHeapStatistics().heap_size_limit;\n',
    256,
  );
  assert.deepEqual(lambdaHeapFlags(256), ["--max-semi-space-size=12", "--max-old-space-size=231"]);
  // The old generation's 231 MB and the young one, which V8 counts as four semi-spaces of 12 MB;
  // unflagged, Node sizes the heap from the host's memory (gigabytes on this machine).
  const limitMb = Number(await fn.invoke({})) / 1024 / 1024;
  assert.ok(limitMb > 231 && limitMb <= 231 + 4 * 12, `heap limit ${limitMb.toFixed(1)} MB`);
});

/** A function of one file, `lib/index.js` holding `source`, on the simulator's Lambda runtime. */
function runtimeFunction(t: TestContext, name: string, source: string, memoryMb: number): LambdaFunction {
  const code = mkdtempSync(join(tmpdir(), `etcd-asg-${name}-`));
  t.after(() => rmSync(code, { recursive: true, force: true }));
  mkdirSync(join(code, "lib"));
  writeFileSync(join(code, "lib/index.js"), source);
  const fn = new LambdaFunction({
    name,
    arn: `arn:aws:lambda:us-east-1:123456789012:function:${name}`,
    codeDir: code,
    handler: "lib/index.handler",
    node: lambdaNodeBinary("nodejs24.x"),
    env: { PATH: "/usr/bin:/bin" },
    timeoutMs: 10_000,
    memoryMb,
    serial: true,
    logFile: join(code, "log"),
  });
  t.after(() => fn.stop());
  return fn;
}
