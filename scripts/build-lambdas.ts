// Bundles each Lambda handler with esbuild into dist/lambdas/<name>/: the handler at lib/index.js
// (CDK handler string `lib/index.handler`), what only some events need next to it in lib/lazy.js
// and the AWS SDK's unused credential providers in lib/sdk-credentials.js (scripts/lazy-file.ts),
// etcd's client in lib/etcd-client.js and lib/etcd3-errors.js (scripts/etcd-client-file.ts), and
// etcd3's protos at proto/, where etcd3 loads them from (`${__dirname}/../proto/rpc.proto`) at run
// time. These are the artifacts the CDK stack deploys and the simulator runs.
//
// Usage: npx tsx scripts/build-lambdas.ts [--out DIR]
import { cpSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { BuildOptions } from "esbuild";
import { FUNCTION_NAMES } from "../cdk/lib/function-tag";
import { buildEtcdClientFiles, etcdClientExternal } from "./etcd-client-file";
import { buildWithLazyFile, lazyFileExternal } from "./lazy-file";

/** One bundle per control-plane function, from lambdas/handlers/<name>.ts. */
export const HANDLERS = FUNCTION_NAMES;

const root = resolve(__dirname, "..");

/** How every handler is bundled (also what the benchmarks build their baseline with). */
export const ESBUILD_OPTIONS = {
  bundle: true,
  platform: "node",
  // Lambda's nodejs24.x runtime (cdk/lib/control-plane.ts); test/integration/lambda-runtime.test.ts
  // checks that template, bundles and simulator agree.
  target: "node24",
  format: "cjs",
  // The ES builds of the AWS SDK let esbuild drop the commands and shapes never used (half the size).
  mainFields: ["module", "main"],
  // `import()` left in the output (the SDK's HTTP handler imports node:http so on its first request)
  // goes through Node's ESM loader, whose facade of node:http loads undici: ~10 ms of every cold
  // start's first AWS call. As `require` it does not.
  supported: { "dynamic-import": false },
  minify: true,
  legalComments: "none",
  logLevel: "warning",
} as const satisfies BuildOptions;

const handlerEntry = (name: string) => join(root, "lambdas/handlers", `${name}.ts`);

/** One handler's lib/index.js as init loads it: etcd's client and the lazy code left to their files. */
export function handlerBuild(name: string, outfile: string): BuildOptions {
  return {
    ...ESBUILD_OPTIONS,
    absWorkingDir: root,
    entryPoints: [handlerEntry(name)],
    outfile,
    plugins: [etcdClientExternal, lazyFileExternal(root)],
  };
}

export async function buildLambdas(outDir = join(root, "dist/lambdas")): Promise<Record<string, number>> {
  rmSync(outDir, { recursive: true, force: true });
  const sizes: Record<string, number> = {};
  for (const name of HANDLERS) {
    const dir = join(outDir, name);
    const outfile = join(dir, "lib/index.js");
    await buildWithLazyFile({ ...ESBUILD_OPTIONS, absWorkingDir: root }, handlerEntry(name), outfile, [
      etcdClientExternal,
    ]);
    await buildEtcdClientFiles(ESBUILD_OPTIONS, join(dir, "lib"), root);
    mkdirSync(join(dir, "proto"), { recursive: true });
    cpSync(join(root, "node_modules/etcd3/proto"), join(dir, "proto"), { recursive: true });
    sizes[name] = statSync(outfile).size;
  }
  return sizes;
}

if (require.main === module) {
  const outFlag = process.argv.indexOf("--out");
  const out = outFlag > 0 ? process.argv[outFlag + 1] : undefined;
  buildLambdas(out === undefined ? undefined : resolve(out)).then(
    (sizes) => {
      for (const [name, bytes] of Object.entries(sizes))
        console.log(`${name}: ${(bytes / 1024).toFixed(0)} KiB`);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
