// Figure 5: what each Lambda costs. Its size as deployed, zipped (checked, ≤ 1 MB) and unzipped with
// what fills it; and its cold start in a fresh `node` process, loading the bundle and handling one
// event, against a baseline handler that only builds the same AWS SDK clients (checked, ≤ 1.5×).

import { statSync } from "node:fs";
import { FUNCTION_MEMORY_MB, functionMemoryMb } from "../../cdk/lib/function-memory";
import { runtimeNodeVersion } from "../../local/simulator/lambda-runtime";
import { buildBaseline, contributors, deployedBundles, deployedSize } from "../lambda/bundles";
import { type ColdStart, coldStart, LAMBDA_RUNTIME } from "../lambda/cold-init";
import { startLocalServers } from "../lambda/local-servers";
import { median } from "../measure";
import { type Check, type Figure, format, type Row, ratioCheck, row } from "../report";
import type { FigureContext } from "./context";

const MAX_BYTES = 1_000_000;

const NOTES = [
  "size: the 1 MB target is checked on the deployment package, the zip of lib/ + proto/ that CDK " +
    "uploads: it is what Lambda stores and reports as the function's CodeSize. The unzipped size " +
    "(what /var/task holds) is shown next to it.",
  "cold start: a fresh node process loads the bundle (module scope: config, logger, SDK clients) and " +
    "handles one event; the bundle's is a real event of its kind answered with real calls to local " +
    "servers, the baseline's an empty event its handler ignores. The target is checked on init + " +
    "first event, as the issue defines cold init; init alone is shown with its ratio, not checked.",
];

export async function lambdaCostFigure(ctx: FigureContext): Promise<Figure> {
  const bundles = await deployedBundles();
  const baseline = await buildBaseline();
  try {
    const rows: Row[] = [];
    const checks: Check[] = [];
    const names = Object.keys(bundles) as (keyof typeof bundles)[];
    const runs = new Map<string, ColdStart[]>([
      ["baseline", []],
      ...names.map((n) => [n, []] as [string, ColdStart[]]),
    ]);
    // Interleaved, so that background load hits every bundle alike. Fresh servers for each
    // repetition: an event the ledger has already seen takes the shorter, idempotent path.
    for (let rep = 1; rep <= ctx.reps; rep++) {
      const servers = await startLocalServers();
      try {
        runs.get("baseline")?.push(await coldStart(baseline.file, {}, servers.env, FUNCTION_MEMORY_MB));
        for (const name of names) {
          const memoryMb = functionMemoryMb(name);
          runs.get(name)?.push(await coldStart(bundles[name], servers.events[name], servers.env, memoryMb));
        }
      } finally {
        await servers.stop();
      }
      ctx.progress(`cold starts rep ${rep} done`);
    }
    const samples = (name: string, pick: (run: ColdStart) => number) => (runs.get(name) ?? []).map(pick);
    const { zipped, unzipped } = baseline.size;
    const what = `SDK clients only, ${format(zipped, "bytes")} zipped, ${format(unzipped, "bytes")} unzipped`;
    const baselineInit = row(`baseline (${what}): init`, "ms", samples("baseline", initOf));
    const baselineCold = row(
      "baseline: cold start (init + an empty event)",
      "ms",
      samples("baseline", coldOf),
    );
    rows.push(baselineInit, baselineCold);
    for (const name of names) {
      const size = deployedSize(name);
      const init = samples(name, initOf);
      const initRatio = format(median(init) / baselineInit.median, "×");
      const coldRow = row(`${name}: cold start (init + first event)`, "ms", samples(name, coldOf));
      rows.push(
        row(`${name}: deployment package (zip)`, "bytes", [size.zipped]),
        row(
          `${name}: unzipped (${size.parts})`,
          "bytes",
          [size.unzipped],
          `lib/index.js (what init compiles; lib/lazy.js and etcd's lib/etcd-client.js load on first use) ` +
            `${format(statSync(bundles[name]).size, "bytes")}, largest parts: ${await contributors(name)}`,
        ),
        row(`${name}: init`, "ms", init, `${initRatio} the baseline's init (not checked)`),
        row(
          `${name}: first event, real calls to local servers`,
          "ms",
          samples(name, (r) => r.invokeMs),
        ),
        coldRow,
      );
      checks.push(
        {
          label: `${name}: deployment package (zip)`,
          value: size.zipped,
          unit: "bytes",
          target: "≤ 1.00 MB",
          pass: size.zipped <= MAX_BYTES,
        },
        ratioCheck(`${name}: cold start / baseline cold start`, coldRow, baselineCold, 1.5),
      );
    }
    return {
      id: "lambda",
      title: "5. Lambda cost (size as deployed, cold start in a fresh node process)",
      rows,
      checks,
      notes: [
        ...NOTES,
        `node: every cold start runs on the Node the functions deploy with, ${LAMBDA_RUNTIME} ` +
          `(local/lambda-runtime's ${runtimeNodeVersion()}), not the bench's own ${process.version}, ` +
          `with the heap flags Lambda gives the function's memory (${FUNCTION_MEMORY_MB} MB, the ` +
          `snapshot function ${functionMemoryMb("snapshot")} MB; the baseline ${FUNCTION_MEMORY_MB} MB's).`,
      ],
    };
  } finally {
    baseline.remove();
  }
}

const initOf = (run: ColdStart) => run.initMs;
const coldOf = (run: ColdStart) => run.initMs + run.invokeMs;
