// The Lambda bundles as deployed (dist/lambdas/<name>: lib/index.js and etcd3's proto/), what
// fills them (esbuild's metafile, per package), and the baseline: a handler that only builds the
// same AWS SDK clients at module scope, bundled with the same esbuild options.

import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type BuildOptions, build, type Metafile } from "esbuild";
import { bundlePath, ensureBundles, type FunctionName } from "../../local/simulator/bundles";
import { ESBUILD_OPTIONS, HANDLERS } from "../../scripts/build-lambdas";

const ROOT = resolve(__dirname, "../..");

const BUILD: BuildOptions = ESBUILD_OPTIONS;

/** Builds dist/lambdas when stale (as the simulator does) and returns each bundle's entry file. */
export async function deployedBundles(): Promise<Record<FunctionName, string>> {
  await ensureBundles();
  return Object.fromEntries(HANDLERS.map((name) => [name, bundlePath(name)])) as Record<FunctionName, string>;
}

/** Bytes of dist/lambdas/<name> as deployed: lib/ and proto/. */
export function deployedSize(name: FunctionName): { total: number; lib: number; proto: number } {
  const dir = join(ROOT, "dist/lambdas", name);
  const lib = dirSize(join(dir, "lib"));
  const proto = dirSize(join(dir, "proto"));
  return { total: lib + proto, lib, proto };
}

/** The largest contributors to the handler's bundle, by package, with their share of it. */
export async function contributors(name: FunctionName, top = 4): Promise<string> {
  const result = await build({
    ...BUILD,
    entryPoints: [join(ROOT, "lambdas/handlers", `${name}.ts`)],
    outfile: join(tmpdir(), `etcd-asg-bench-${name}.js`),
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
  readonly bytes: number;
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
  return { file, bytes: statSync(file).size, remove: () => rmSync(dir, { recursive: true, force: true }) };
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

function dirSize(dir: string): number {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    bytes += entry.isDirectory() ? dirSize(path) : statSync(path).size;
  }
  return bytes;
}
