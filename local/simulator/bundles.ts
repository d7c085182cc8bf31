// The four Lambda bundles the simulator runs: the ones `npm run build` writes to dist/lambdas. They
// are rebuilt first when missing or older than any file under lambdas/ or the build scripts, under a
// lock directory so that simulators starting at the same time (parallel test files) never build over
// each other.
// Also the worker that hosts a bundle, as plain JavaScript.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { transformSync } from "esbuild";
import { buildLambdas, HANDLERS } from "../../scripts/build-lambdas";
import { withDirLock } from "../dir-lock";

export type FunctionName = (typeof HANDLERS)[number];

const ROOT = resolve(__dirname, "../..");
/** Where `npm run build` writes the bundles, one folder per function. */
export const BUNDLES_DIR = join(ROOT, "dist/lambdas");
/** Held while anything builds into dist/ (the bundles, a synthesis that builds them first). */
export const BUILD_LOCK = join(ROOT, "dist/.build-lock");

export function bundlePath(name: FunctionName): string {
  return join(BUNDLES_DIR, name, "lib/index.js");
}

/** Builds the bundles when stale; resolves once all of them are current. */
export async function ensureBundles(log: (line: string) => void = () => {}): Promise<void> {
  if (!stale()) return;
  mkdirSync(join(ROOT, "dist"), { recursive: true });
  await withDirLock(BUILD_LOCK, () => buildBundlesIfStale(log));
}

/** The same, for a caller that holds the build lock already (a synthesis). */
export async function buildBundlesIfStale(log: (line: string) => void = () => {}): Promise<void> {
  if (!stale()) return;
  log("building the Lambda bundles (npm run build)");
  await buildLambdas(BUNDLES_DIR);
}

let worker: string | undefined;

/**
 * lambda-worker.ts compiled to JavaScript (once per process), so a cold start forks plain `node` as
 * Lambda's runtime does, without a TypeScript loader that would add ~0.1 s to every cold start.
 * Written to a temporary name and renamed, so simulators in other processes never read half a file.
 */
export function workerScript(): string {
  if (worker !== undefined) return worker;
  const { code } = transformSync(readFileSync(join(__dirname, "lambda-worker.ts"), "utf8"), {
    loader: "ts",
    format: "cjs",
    target: "node24",
  });
  const out = join(ROOT, "dist/simulator/lambda-worker.js");
  mkdirSync(join(ROOT, "dist/simulator"), { recursive: true });
  writeFileSync(`${out}.${process.pid}`, code);
  renameSync(`${out}.${process.pid}`, out);
  worker = out;
  return out;
}

function stale(): boolean {
  const built = HANDLERS.map((name) => bundlePath(name));
  if (!built.every((file) => existsSync(file))) return true;
  const oldestBundle = Math.min(...built.map((file) => statSync(file).mtimeMs));
  return Math.max(...BUNDLE_SOURCES.map((source) => newestSource(join(ROOT, source)))) > oldestBundle;
}

/** What the bundles are built from: the functions' code and the build scripts. */
const BUNDLE_SOURCES = [
  "lambdas",
  "scripts/build-lambdas.ts",
  "scripts/lazy-file.ts",
  "scripts/etcd-client-file.ts",
];

function newestSource(dir: string): number {
  if (!statSync(dir).isDirectory()) return statSync(dir).mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}
