// The Lambda bundles as deployed (dist/lambdas/<name>: lib/index.js and etcd3's proto/), their
// size zipped and unzipped, what fills them (esbuild's metafile, per package), and the baseline: a
// handler that only builds the same AWS SDK clients at module scope, bundled with the same esbuild
// options.

import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type BuildOptions, build, type Metafile } from "esbuild";
import { bundlePath, ensureBundles, type FunctionName } from "../../local/simulator/bundles";
import { ESBUILD_OPTIONS, HANDLERS, handlerBuild } from "../../scripts/build-lambdas";
import { filesUnder, zipDirectory } from "./deployment-zip";

const ROOT = resolve(__dirname, "../..");

const BUILD: BuildOptions = ESBUILD_OPTIONS;

/** Builds dist/lambdas when stale (as the simulator does) and returns each bundle's entry file. */
export async function deployedBundles(): Promise<Record<FunctionName, string>> {
  await ensureBundles();
  return Object.fromEntries(HANDLERS.map((name) => [name, bundlePath(name)])) as Record<FunctionName, string>;
}

export interface PackageSize {
  /** The zip CDK uploads: what Lambda counts as the function's CodeSize. */
  readonly zipped: number;
  /** The files' bytes once unzipped in the function's /var/task. */
  readonly unzipped: number;
  /** Unzipped bytes by top folder, e.g. "lib 1569 KB + proto 38 KB". */
  readonly parts: string;
}

/** A bundle folder's size as deployed: dist/lambdas/<name> holds lib/ and proto/. */
export function packageSize(dir: string): PackageSize {
  const byFolder = new Map<string, number>();
  for (const path of filesUnder(dir)) {
    const folder = path.split("/")[0] ?? path;
    byFolder.set(folder, (byFolder.get(folder) ?? 0) + statSync(join(dir, path)).size);
  }
  return {
    zipped: zipDirectory(dir).length,
    unzipped: [...byFolder.values()].reduce((sum, bytes) => sum + bytes, 0),
    parts: [...byFolder].map(([folder, bytes]) => `${folder} ${Math.round(bytes / 1000)} KB`).join(" + "),
  };
}

export function deployedSize(name: FunctionName): PackageSize {
  return packageSize(join(ROOT, "dist/lambdas", name));
}

/** The largest contributors to the handler's bundle, by package, with their share of it. */
export async function contributors(name: FunctionName, top = 4): Promise<string> {
  const result = await build({
    ...handlerBuild(name, join(tmpdir(), `etcd-asg-bench-${name}.js`)),
    write: false,
    metafile: true,
  });
  return describeShares(result.metafile, top);
}

export function describeShares(metafile: Metafile, top: number): string {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined);
  if (output === undefined) throw new Error("esbuild's metafile has no entry output");
  const byPackage = new Map<string, number>();
  for (const [path, input] of Object.entries(output.inputs)) {
    const pkg = packageOf(path);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + input.bytesInOutput);
  }
  const total = output.bytes;
  return [...byPackage.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([pkg, bytes]) => `${pkg} ${Math.round(bytes / 1000)} KB (${Math.round((bytes / total) * 100)} %)`)
    .join(", ");
}

function packageOf(path: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (match?.[1] !== undefined) return match[1];
  return path.startsWith("lambdas/") ? "lambdas/ (own code)" : path;
}

export interface Baseline {
  readonly file: string;
  readonly size: PackageSize;
  remove(): void;
}

/** The baseline handler: the runtime's SDK clients, built the same way, and nothing else. */
export async function buildBaseline(): Promise<Baseline> {
  const dir = mkdtempSync(join(tmpdir(), "etcd-asg-bench-baseline-"));
  const file = join(dir, "lib/index.js");
  await build({
    ...BUILD,
    stdin: { contents: BASELINE_SOURCE, resolveDir: ROOT, sourcefile: "baseline.ts", loader: "ts" },
    outfile: file,
  });
  return {
    file,
    size: packageSize(dir),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Mirrors lambdas/app/runtime.ts's clients: same packages, same endpoint and region options. */
const BASELINE_SOURCE = `
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EC2Client } from "@aws-sdk/client-ec2";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

const env = process.env;
const endpoint = (service: string) => env["AWS_ENDPOINT_URL_" + service] ?? env.AWS_ENDPOINT_URL;
const region = env.AWS_REGION;
export const clients = {
  ledger: DynamoDBDocumentClient.from(new DynamoDBClient({ region, endpoint: endpoint("DYNAMODB") })),
  autoScaling: new AutoScalingClient({ region, endpoint: endpoint("AUTO_SCALING") }),
  ec2: new EC2Client({ region, endpoint: endpoint("EC2") }),
};
export const handler = async () => ({ ok: true });
`;
