// The simulator's default template: the ready app synthesized with `npx cdk synth`, exactly as
// `cdk deploy` would synthesize it, into dist/stack/<hash>/. cdk.json's pre-synth build
// (`npm run build`) is replaced by building the bundles only when stale (local/simulator/bundles.ts),
// so the assets hold the current bundles without rebuilding them for every context synthesized. The
// hash covers every input of the synthesis — the app, the construct, the Lambda sources, the boot
// script, cdk.json, the lockfile and the context given — so a second start with the same inputs
// reuses the cloud assembly. Builds are serialised with every other build into dist/ by the build
// lock. The cache keeps the newest assemblies used, and never one a live process has claimed
// (./assembly-cache.ts): the simulator's functions load their bundles from it. CDK's built-in
// CloudFormation validation (CDK_VALIDATION, about 3 s of CPU a synthesis) is left out here: it
// reads the template and changes nothing in it, and the test command's own `npx cdk synth` and
// test/cdk's syntheses run it, as `cdk deploy` does. cdk-nag's packs still run, and still fail a
// synthesis with a finding not acknowledged.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { promisify } from "node:util";
import { withDirLock } from "../dir-lock";
import { BUILD_LOCK, buildBundlesIfStale } from "../simulator/bundles";
import { claimAssembly, pruneAssemblies } from "./assembly-cache";

const ROOT = resolve(__dirname, "../..");
const CACHE = join(ROOT, "dist/stack");
const INPUTS = [
  "cdk",
  "lambdas",
  "bootstrap-script",
  "scripts/build-lambdas.ts",
  "scripts/lazy-file.ts",
  "scripts/etcd-client-file.ts",
  "cdk.json",
  "package-lock.json",
];
/** Cloud assemblies kept; older ones are removed unless a live process (this one too) has claimed them. */
const KEEP = 6;
export const STACK_NAME = "EtcdAsg";

export interface SynthesizedStack {
  readonly templatePath: string;
  /** The cloud assembly folder: the template's assets are `asset.<hash>/` in it. */
  readonly assetsDir: string;
}

export class SynthError extends Error {
  override readonly name = "SynthError";
}

/**
 * The app's template for the given CDK context (e.g. `{ "etcd-asg:clusterSize": "5" }`),
 * synthesized now or taken from the cache.
 */
export async function synthesize(
  context: Readonly<Record<string, string>> = {},
  log: (line: string) => void = () => {},
): Promise<SynthesizedStack> {
  const dir = join(CACHE, inputsHash(context));
  const found = claimCached(dir);
  if (found) return found;
  mkdirSync(CACHE, { recursive: true });
  return withDirLock(BUILD_LOCK, async () => {
    const again = claimCached(dir);
    if (again) return again;
    log(`synthesizing the CDK app (npx cdk synth${contextArgs(context).join(" ").replace(/^/, " ")})`);
    await buildBundlesIfStale(log);
    const tmp = `${dir}.${process.pid}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    try {
      await promisify(execFile)(
        "npx",
        [
          "--no-install",
          "cdk",
          "synth",
          "--build",
          "true",
          "--quiet",
          "--no-notices",
          "-o",
          tmp,
          ...contextArgs(context),
        ],
        { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, CDK_VALIDATION: "false" } },
      );
    } catch (error) {
      rmSync(tmp, { recursive: true, force: true });
      const { stderr } = error as { stderr?: string };
      throw new SynthError(
        `npx cdk synth failed: ${stderr?.trim().split("\n").slice(-15).join("\n") ?? String(error)}`,
      );
    }
    renameSync(tmp, dir);
    claimAssembly(dir);
    pruneAssemblies(CACHE, KEEP);
    return stackIn(dir);
  });
}

function contextArgs(context: Readonly<Record<string, string>>): string[] {
  return Object.entries(context).flatMap(([key, value]) => ["-c", `${key}=${value}`]);
}

/** The cached assembly in `dir`, claimed for this process; undefined when there is none (or it was
 * being pruned: the caller then takes the build lock, which pruning holds, and looks again). */
function claimCached(dir: string): SynthesizedStack | undefined {
  if (!claimAssembly(dir)) return undefined;
  return existsSync(join(dir, `${STACK_NAME}.template.json`)) ? stackIn(dir) : undefined;
}

function stackIn(dir: string): SynthesizedStack {
  return { templatePath: join(dir, `${STACK_NAME}.template.json`), assetsDir: dir };
}

function inputsHash(context: Readonly<Record<string, string>>): string {
  const hash = createHash("sha256").update(JSON.stringify(Object.entries(context).sort()));
  for (const input of INPUTS) {
    for (const file of filesUnder(join(ROOT, input))) {
      hash.update(relative(ROOT, file)).update("\0").update(readFileSync(file)).update("\0");
    }
  }
  return hash.digest("hex").slice(0, 20);
}

function filesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((entry) => filesUnder(join(path, entry)));
}
