// `npm run bench`: measures etcd-asg side by side with the floor (the same etcd with perfect
// knowledge) and with etcd's own discovery, prints every figure with its ratio, target and
// pass/miss, and writes the results as JSON. Every process it starts is stopped, also on failure.
//
// Usage: npm run bench -- [--reps N] [--only FIGURE] [--out FILE] [--join-data-mib MIB]
import { cpus, totalmem } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { apiCallsFigure } from "./figures/api-calls";
import { bootstrapFigure } from "./figures/bootstrap";
import type { FigureContext } from "./figures/context";
import { joinFigure } from "./figures/join";
import { joinLargeFigure } from "./figures/join-large";
import { lambdaCostFigure } from "./figures/lambda-cost";
import { mttrFigure } from "./figures/mttr";
import { recoveryFigure } from "./figures/recovery";
import { replaceFigure } from "./figures/replace";
import { rollingFigure } from "./figures/rolling";
import { now, since } from "./measure";
import { type Figure, renderTable, writeJson } from "./report";

const FIGURES: Record<string, (ctx: FigureContext) => Promise<Figure>> = {
  bootstrap: bootstrapFigure,
  join: joinFigure,
  "join-1gib": joinLargeFigure,
  replace: replaceFigure,
  rolling: rollingFigure,
  lambda: lambdaCostFigure,
  "api-calls": apiCallsFigure,
  mttr: mttrFigure,
  recovery: recoveryFigure,
};

const USAGE = `Usage: npm run bench -- [--reps N] [--only FIGURE] [--out FILE] [--join-data-mib MIB]

  --reps N       repetitions per measurement; each figure is their median (default 5)
  --only FIGURE  one of ${Object.keys(FIGURES).join(", ")} (default all)
  --out FILE     where the JSON results go (default bench-results.json)
  --join-data-mib MIB
                 data the join-1gib figure fills both clusters with first (default 1024)
`;

class UsageError extends Error {
  override readonly name = "UsageError";
}

function options() {
  const { values } = parseArgs({
    options: {
      reps: { type: "string", default: "5" },
      only: { type: "string" },
      out: { type: "string", default: "bench-results.json" },
      "join-data-mib": { type: "string", default: "1024" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const reps = Number(values.reps);
  if (!Number.isInteger(reps) || reps < 1)
    throw new UsageError(`--reps must be a positive integer, got "${values.reps}"`);
  const only = values.only;
  if (only !== undefined && FIGURES[only] === undefined) {
    throw new UsageError(`unknown --only "${only}"; one of ${Object.keys(FIGURES).join(", ")}`);
  }
  const joinDataMib = Number(values["join-data-mib"]);
  if (!Number.isInteger(joinDataMib) || joinDataMib < 1)
    throw new UsageError(`--join-data-mib must be a positive integer, got "${values["join-data-mib"]}"`);
  return { reps, only, joinDataMib, out: resolve(values.out), help: values.help };
}

async function main(): Promise<number> {
  let opts: ReturnType<typeof options>;
  try {
    opts = options();
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  const started = now();
  const startedAt = new Date().toISOString();
  const elapsed = () => `${(since(started) / 1000).toFixed(0).padStart(5)}s`;
  const ctx: FigureContext = {
    reps: opts.reps,
    joinDataMib: opts.joinDataMib,
    progress: (line) => console.log(`${elapsed()}  ${line}`),
  };
  const figures: Figure[] = [];
  for (const [id, measure] of Object.entries(FIGURES)) {
    if (opts.only !== undefined && opts.only !== id) continue;
    ctx.progress(`figure ${id}: ${opts.reps} reps`);
    try {
      figures.push(await measure(ctx));
    } catch (error) {
      // One figure that cannot be measured must not cost the others: report it and go on.
      console.error(error);
      figures.push({ id, title: `${id} (not measured)`, rows: [], checks: [], error: String(error) });
    }
  }
  console.log(`\n${renderTable(figures)}`);
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
  writeJson(opts.out, { startedAt, durationMs: since(started), reps: opts.reps, machine }, figures);
  const checks = figures.flatMap((f) => f.checks);
  const missed = checks.filter((c) => !c.pass).length;
  const failed = figures.filter((f) => f.error !== undefined).map((f) => f.id);
  const notMeasured = failed.length > 0 ? `; not measured: ${failed.join(", ")}` : "";
  console.log(
    `${missed} of ${checks.length} targets missed${notMeasured}; results in ${opts.out} (${elapsed().trim()})`,
  );
  // Missed targets are results; a figure that could not be measured is a failure of the run.
  return failed.length > 0 ? 1 : 0;
}

// Exit hooks (test/helpers/etcd/process.ts, local/simulator/processes.ts) kill every process started.
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.on(sig, () => process.exit(sig === "SIGINT" ? 130 : 143));

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
