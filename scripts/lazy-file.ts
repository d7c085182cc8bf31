// What only some events need, in a file of its own next to each handler's lib/index.js, so that a
// cold start does not compile it: every dynamic `import()` of the bundle — ours (the X.509 code, the
// KMS, Route 53, S3 and Lambda clients and their adapters) and the AWS SDK's (the credential
// providers other than the environment's, which a Lambda never reaches, and their STS, SSO and
// sign-in clients) — is built into lib/lazy.js (ours) or lib/sdk-credentials.js (the SDK's) and
// `require`d on first use. A dynamic import in the same file still costs its bytes when V8 compiles
// the file, and compiling lib/index.js is most of init. (etcd's client has files of its own,
// scripts/etcd-client-file.ts.)
//
// A lazy file carries no second copy of what lib/index.js holds: each module of index's graph that
// lazy code imports (the AWS SDK's shared core, our own error classes, the domain) comes from
// index.js, which registers at init, under a global symbol, exactly the exports the lazy files
// import from it. So an error class stays one class across the files (`instanceof` holds), the
// SDK's core is compiled once, and index.js keeps only what is used of each module. The esbuild
// passes: index.js without the lazy code (which modules it holds); per lazy file, the file as an ES
// module with those modules external (which names it imports from them), then the file itself;
// last, index.js registering those names.
import { dirname, join, relative } from "node:path";
import { type BuildOptions, build, type Plugin } from "esbuild";

/** lib/lazy.js, next to lib/index.js: our code that some events need. */
export const LAZY_FILE = "./lazy.js";
/** lib/sdk-credentials.js: the AWS SDK's own dynamic imports, the credential providers a Lambda
 * never reaches; apart, so that an event that loads lib/lazy.js does not load them too. */
export const SDK_LAZY_FILE = "./sdk-credentials.js";
/** Our own code (whose dynamic imports go to lib/lazy.js). */
const OWN_CODE = "lambdas/";
/** The global symbol under which index.js registers what lazy.js imports from it: one per folder
 * (`__dirname`, which both files share), so that bundles loaded in one process stay apart. */
const REGISTRY = `Symbol.for("etcd-asg.shared-modules " + __dirname)`;
const LAZY_NAMESPACE = "etcd-asg-lazy";
const SHARED_NAMESPACE = "etcd-asg-shared";
const RESOLVING = "etcd-asg-lazy-resolving";
/** Copied into lazy.js rather than shared: lambdas/schema.ts re-exports zod/mini and configures
 * it, and each file uses a few of its functions; its schemas and their failures never cross from
 * one file to the other. */
const NOT_SHARED = [/^lambdas\/schema\.ts$/, /^node_modules\/zod\//];
/** Ends a stand-in module's name: a CommonJS one, whatever the file it stands for (e.g. `.mjs`). */
const STAND_IN = ".stand-in.cjs";
/** A namespace import: every export of the module is needed. */
const WHOLE = "*";

/** A module's key in both files: its path under the repository, or from its node_modules/ on. */
function moduleKey(root: string, path: string): string {
  const rel = relative(root, path);
  const packages = rel.lastIndexOf("node_modules/");
  return packages < 0 ? rel : rel.slice(packages);
}

interface ResolveArgs {
  readonly path: string;
  readonly resolveDir: string;
  readonly kind: string;
  readonly importer: string;
}

/** The lazy file a dynamic import from `importer` goes to. */
function lazyFileOf(root: string, importer: string): string {
  return relative(root, importer).startsWith(OWN_CODE) ? LAZY_FILE : SDK_LAZY_FILE;
}

/**
 * For index.js: dynamic imports come from lib/lazy.js or lib/sdk-credentials.js (etcd's client and
 * Node's built-ins stay external). `lazy` collects the modules so imported, per file (key → path).
 */
export function lazyFileExternal(root: string, lazy = new Map<string, Map<string, string>>()): Plugin {
  return {
    name: "lazy-file-external",
    setup(builder) {
      builder.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind !== "dynamic-import" || args.pluginData === RESOLVING) return undefined;
        const resolved = await resolveFurther(builder, args);
        if (resolved.errors.length > 0 || resolved.external) return resolved;
        const key = moduleKey(root, resolved.path);
        const file = lazyFileOf(root, args.importer);
        const modules = lazy.get(file) ?? new Map<string, string>();
        modules.set(key, resolved.path);
        lazy.set(file, modules);
        return { path: `${key}${STAND_IN}`, namespace: LAZY_NAMESPACE, pluginData: file };
      });
      builder.onLoad({ filter: /.*/, namespace: LAZY_NAMESPACE }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(args.pluginData)}).modules[${JSON.stringify(args.path.slice(0, -STAND_IN.length))}];`,
        loader: "js",
      }));
      builder.onResolve({ filter: /^\.\/(lazy|sdk-credentials)\.js$/ }, (args) => ({
        path: args.path,
        external: true,
      }));
    },
  };
}

/**
 * For lazy.js: a module index.js holds (`indexHolds`, by key) comes from index.js; `used` collects
 * them (key → path). `external` leaves them as imports, for reading what lazy.js imports of each.
 */
function sharedFromIndex(
  root: string,
  indexHolds: ReadonlySet<string>,
  used: Map<string, string>,
  external: boolean,
): Plugin {
  return {
    name: "shared-from-index",
    setup(builder) {
      builder.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind === "entry-point" || args.pluginData === RESOLVING) return undefined;
        const resolved = await resolveFurther(builder, args);
        if (resolved.errors.length > 0 || resolved.external || resolved.namespace !== "file") return resolved;
        const key = moduleKey(root, resolved.path);
        if (!indexHolds.has(key) || NOT_SHARED.some((pattern) => pattern.test(key))) return resolved;
        used.set(key, resolved.path);
        return external
          ? { path: key, external: true }
          : { path: `${key}${STAND_IN}`, namespace: SHARED_NAMESPACE };
      });
      builder.onLoad({ filter: /.*/, namespace: SHARED_NAMESPACE }, (args) => {
        const path = args.path.slice(0, -STAND_IN.length);
        const key = JSON.stringify(path);
        const missing = `lib/lazy.js needs ${path} from lib/index.js, which has not registered it`;
        return {
          contents: `const shared = globalThis[${REGISTRY}]?.[${key}];
if (shared === undefined) throw new Error(${JSON.stringify(missing)});
module.exports = shared;`,
          loader: "js",
        };
      });
    },
  };
}

function resolveFurther(builder: Parameters<Plugin["setup"]>[0], args: ResolveArgs) {
  const { resolveDir, kind, importer } = args;
  return builder.resolve(args.path, {
    resolveDir,
    kind: kind as "import-statement",
    importer,
    pluginData: RESOLVING,
  });
}

/** The names an ES module (esbuild's unminified output) imports from each of `keys`, or WHOLE. */
function importedNames(code: string, keys: ReadonlySet<string>): Map<string, Set<string>> {
  const names = new Map<string, Set<string>>();
  const add = (key: string, name?: string) => {
    if (!keys.has(key)) return;
    const set = names.get(key) ?? new Set<string>();
    if (name !== undefined) set.add(name);
    names.set(key, set);
  };
  // Imported for its side effects only (esbuild keeps those of an external module): nothing read.
  for (const [, key] of code.matchAll(/^import\s*"([^"]+)";/gm)) if (key !== undefined) add(key);
  const statement = /^import\s+(?:([\w$]+)\s*,?\s*)?(?:\*\s+as\s+[\w$]+|\{([^}]*)\})?\s*from\s*"([^"]+)";/gm;
  for (const [, defaultName, named, key] of code.matchAll(statement)) {
    if (key === undefined) continue;
    if (defaultName !== undefined) add(key, "default");
    if (named === undefined && defaultName === undefined) add(key, WHOLE);
    for (const part of named?.split(",") ?? []) {
      const name = part.trim().split(/\s+as\s+/)[0];
      if (name) add(key, name.replace(/^"(.*)"$/, "$1"));
    }
  }
  // A require() (esbuild's __require, too) or a dynamic import() reads the whole module.
  for (const [, key] of code.matchAll(/(?:require|import)\("([^"]+)"\)/g))
    if (key !== undefined) add(key, WHOLE);
  return names;
}

/** index.js's registration of `names` (key → names) from the modules at `paths` (key → path). */
function registration(names: Map<string, Set<string>>, paths: Map<string, string>): string {
  const lines: string[] = [];
  const entries: string[] = [];
  [...names.keys()].sort().forEach((key, i) => {
    const path = JSON.stringify(paths.get(key));
    const wanted = [...(names.get(key) ?? [])].sort();
    if (wanted.includes(WHOLE)) {
      lines.push(`import * as s${i} from ${path};`);
      entries.push(`${JSON.stringify(key)}: s${i}`);
      return;
    }
    lines.push(
      `import { ${wanted.map((n, j) => `${JSON.stringify(n)} as s${i}_${j}`).join(", ")} } from ${path};`,
    );
    // Getters keep the bindings live; __esModule as esbuild marks an ES module it hands to require.
    const getters = wanted.map((n, j) => `get ${JSON.stringify(n)}() { return s${i}_${j}; }`);
    entries.push(`${JSON.stringify(key)}: { __esModule: true, ${getters.join(", ")} }`);
  });
  return [...lines, `globalThis[${REGISTRY}] = {`, entries.join(",\n"), "};"].join("\n");
}

/**
 * Builds `entry` (a handler) into index.js at `outfile` and the lazy files next to it, with
 * `options` and `plugins` (etcd's client files) in every pass.
 */
export async function buildWithLazyFile(
  options: BuildOptions & { absWorkingDir: string },
  entry: string,
  outfile: string,
  plugins: Plugin[],
): Promise<void> {
  const root = options.absWorkingDir;
  const lazy = new Map<string, Map<string, string>>();
  const first = await build({
    ...options,
    entryPoints: [entry],
    outfile,
    write: false,
    metafile: true,
    plugins: [...plugins, lazyFileExternal(root, lazy)],
  });
  // Files only: the lazy modules' stand-ins in index.js are listed as "etcd-asg-lazy:<key>".
  const files = Object.keys(first.metafile.inputs).filter((p) => !p.startsWith(`${LAZY_NAMESPACE}:`));
  const indexHolds = new Set(files.map((p) => moduleKey(root, join(root, p))));
  const used = new Map<string, string>();
  const names = new Map<string, Set<string>>();
  for (const [file, modules] of lazy) {
    const lazyOptions = {
      ...options,
      outfile: join(dirname(outfile), file),
      stdin: lazyEntry(root, modules),
    };
    const fileUses = new Map<string, string>();
    const asModule = await build({
      ...lazyOptions,
      format: "esm",
      minify: false,
      write: false,
      plugins: [...plugins, sharedFromIndex(root, indexHolds, fileUses, true)],
    });
    const fileNames = importedNames(asModule.outputFiles[0]?.text ?? "", new Set(fileUses.keys()));
    for (const key of fileUses.keys()) {
      const wanted = fileNames.get(key);
      if (wanted === undefined) {
        throw new Error(
          `${file} uses ${key} from lib/index.js, but its ES module build imports nothing of it`,
        );
      }
      names.set(key, new Set([...(names.get(key) ?? []), ...wanted]));
    }
    for (const [key, path] of fileUses) used.set(key, path);
    await build({
      ...lazyOptions,
      plugins: [...plugins, sharedFromIndex(root, indexHolds, new Map(), false)],
    });
  }
  await build({
    ...options,
    stdin: {
      contents: [`export * from ${JSON.stringify(entry)};`, registration(names, used)].join("\n"),
      resolveDir: root,
      sourcefile: "index.ts",
      loader: "ts",
    },
    outfile,
    plugins: [...plugins, lazyFileExternal(root)],
  });
}

/** A lazy file's entry: the namespace of each of its `modules` (key → path), by key. */
function lazyEntry(root: string, modules: Map<string, string>) {
  const keys = [...modules.keys()].sort();
  return {
    contents: [
      ...keys.map((m, i) => `import * as m${i} from ${JSON.stringify(modules.get(m))};`),
      `export const modules = { ${keys.map((m, i) => `${JSON.stringify(m)}: m${i}`).join(", ")} };`,
    ].join("\n"),
    resolveDir: root,
    sourcefile: "lazy.ts",
    loader: "ts" as const,
  };
}
