// The Node.js binary that plays a Lambda runtime: the npm package `node` installed in
// local/lambda-runtime (scripts/install), whose major version must be the one the template's
// `nodejsNN.x` runtime names. A mismatch fails the simulator's start naming both, so the functions
// never run on a Node the template does not deploy. Node starts with the heap sizes Lambda's
// runtime gives a function of its memory size.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

const RUNTIME_DIR = resolve(__dirname, "../lambda-runtime");
const NODE = resolve(RUNTIME_DIR, "node_modules/node/bin/node");

export class LambdaRuntimeError extends Error {
  override readonly name = "LambdaRuntimeError";
}

const versions = new Map<string, string>();

/** The installed runtime Node's version, e.g. `v24.21.0`. */
export function runtimeNodeVersion(): string {
  if (!existsSync(NODE)) {
    throw new LambdaRuntimeError(`${NODE} is missing: run scripts/install (npm ci in local/lambda-runtime)`);
  }
  let version = versions.get(NODE);
  if (version === undefined) {
    version = execFileSync(NODE, ["--version"], { encoding: "utf8" }).trim();
    versions.set(NODE, version);
  }
  return version;
}

/** The node binary for a function whose template Runtime is `runtime` (e.g. `nodejs24.x`). */
export function lambdaNodeBinary(runtime: string): string {
  const wanted = /^nodejs(\d+)\.x$/.exec(runtime)?.[1];
  if (wanted === undefined) {
    throw new LambdaRuntimeError(`runtime ${runtime}: the simulator runs Node.js runtimes (nodejsNN.x) only`);
  }
  const installed = /^v(\d+)\./.exec(runtimeNodeVersion())?.[1];
  if (installed !== wanted) {
    throw new LambdaRuntimeError(
      `the template's functions run ${runtime}, but local/lambda-runtime installs Node ${runtimeNodeVersion()}: ` +
        `set local/lambda-runtime/package.json's "node" to ${wanted} and run scripts/install`,
    );
  }
  return NODE;
}

/**
 * The V8 heap flags Lambda's Node.js runtime starts a function with, from its MemorySize: a tenth of
 * it for the young generation (two semi-spaces), the rest for the old one. Without them Node sizes
 * its heap from the host's memory (gigabytes here), collects garbage lazily, and a function's
 * resident memory passes a MemorySize that Lambda's sizing keeps it under.
 */
export function lambdaHeapFlags(memoryMb: number): string[] {
  const newSpaceMb = Math.floor(memoryMb / 10);
  return [
    `--max-semi-space-size=${Math.floor(newSpaceMb / 2)}`,
    `--max-old-space-size=${memoryMb - newSpaceMb}`,
  ];
}
