// Runs bench/lambda/cold-start.cjs: one fresh `node` process that loads a bundle and handles one
// event with the given environment, and returns its timings. The process is the Node the functions
// deploy with (the simulator's Lambda runtime, local/lambda-runtime), not the bench's own, with the
// heap flags Lambda gives a function of the given memory.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lambdaHeapFlags, lambdaNodeBinary } from "../../local/simulator/lambda-runtime";
import { ESBUILD_OPTIONS } from "../../scripts/build-lambdas";

const RUNNER = join(__dirname, "cold-start.cjs");

/**
 * The template's runtime, `nodejsNN.x`, from the bundles' esbuild target `nodeNN`
 * (test/integration/lambda-runtime.test.ts checks that the two and the simulator agree).
 */
export const LAMBDA_RUNTIME = `nodejs${ESBUILD_OPTIONS.target.replace(/^node/, "")}.x`;

export interface ColdStart {
  /** From process start to the bundle loaded (Lambda's Init Duration). */
  readonly initMs: number;
  /** The first invocation, after init. */
  readonly invokeMs: number;
}

export class ColdStartError extends Error {
  override readonly name = "ColdStartError";
}

export async function coldStart(
  bundle: string,
  event: unknown,
  env: Record<string, string>,
  memoryMb: number,
): Promise<ColdStart> {
  const dir = mkdtempSync(join(tmpdir(), "etcd-asg-bench-cold-"));
  try {
    const eventFile = join(dir, "event.json");
    const outFile = join(dir, "out.json");
    writeFileSync(eventFile, JSON.stringify(event));
    const child = spawn(
      lambdaNodeBinary(LAMBDA_RUNTIME),
      [...lambdaHeapFlags(memoryMb), RUNNER, bundle, eventFile, outFile],
      {
        env,
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", resolve);
    });
    let result: ColdStart & { ok: boolean; detail: unknown };
    try {
      result = JSON.parse(readFileSync(outFile, "utf8"));
    } catch (error) {
      throw new ColdStartError(`${bundle} exited ${code} without a result: ${stderr.slice(-2000)}`, {
        cause: error,
      });
    }
    if (!result.ok) throw new ColdStartError(`${bundle} failed its event: ${String(result.detail)}`);
    return { initMs: result.initMs, invokeMs: result.invokeMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
