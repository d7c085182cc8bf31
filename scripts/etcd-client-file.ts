// etcd's client in files of its own next to each handler's lib/index.js, so that a cold start does not
// compile it: etcd3 with @grpc/grpc-js and protobufjs (and cockatiel) are about a quarter of the
// bundle, and the handlers load them only on their first etcd call (lambdas/adapters/etcd/endpoint.ts
// imports them dynamically). A dynamic import in one file still costs its bytes at compile time.
//
//   lib/etcd-client.js  etcd3 and cockatiel, `require`d by the first etcd call
//   lib/etcd3-errors.js etcd3's errors module, `require`d by both: its RecoverableError symbol,
//                       which lambdas/adapters/etcd/translate.ts reads, must be one instance
import { join } from "node:path";
import { type BuildOptions, build, type Plugin } from "esbuild";

const CLIENT_FILE = "./etcd-client.js";
const ERRORS_FILE = "./etcd3-errors.js";
const ERRORS_MODULE = /[\\/]node_modules[\\/]etcd3[\\/]lib[\\/]errors\.js$/;

/** For a handler's bundle: etcd3 and cockatiel come from etcd-client.js, etcd3's errors from its file. */
export const etcdClientExternal: Plugin = {
  name: "etcd-client-external",
  setup(builder) {
    builder.onResolve({ filter: /^(etcd3|cockatiel)$/ }, () => ({ path: CLIENT_FILE, external: true }));
    builder.onResolve({ filter: /^etcd3\/lib\/errors$/ }, () => ({ path: ERRORS_FILE, external: true }));
  },
};

/** etcd3's own imports of its errors module go to the shared file. */
const sharedErrors: Plugin = {
  name: "etcd3-shared-errors",
  setup(builder) {
    builder.onResolve({ filter: /^\.\/errors$/ }, async (args) => {
      if (args.pluginData === "shared-errors") return undefined;
      const resolved = await builder.resolve(args.path, {
        resolveDir: args.resolveDir,
        kind: args.kind,
        importer: args.importer,
        pluginData: "shared-errors",
      });
      return ERRORS_MODULE.test(resolved.path) ? { path: ERRORS_FILE, external: true } : resolved;
    });
  },
};

/** Writes etcd-client.js and etcd3-errors.js into libDir with the handlers' esbuild options. */
export async function buildEtcdClientFiles(
  options: BuildOptions,
  libDir: string,
  root: string,
): Promise<void> {
  await build({
    ...options,
    stdin: {
      contents: 'export { Etcd3 } from "etcd3";\nexport { noop } from "cockatiel";\n',
      resolveDir: root,
      sourcefile: "etcd-client.ts",
      loader: "ts",
    },
    outfile: join(libDir, CLIENT_FILE),
    plugins: [sharedErrors],
  });
  await build({
    ...options,
    entryPoints: [join(root, "node_modules/etcd3/lib/errors.js")],
    outfile: join(libDir, ERRORS_FILE),
  });
}
