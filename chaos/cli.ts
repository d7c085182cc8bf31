// `npm run chaos -- --runs N --seed S [--size 3|5] [--episodes E]`: N chaos runs, one after the
// other, run i drawing its schedule from seed S+i (each on a fresh simulator with real etcd). Prints
// a line per run, a failing run's seed, violations and replay command, and the totals; exits 1 on
// any violation. Every process a run starts is stopped when it ends, also on Ctrl-C.
import { randomInt } from "node:crypto";
import { parseArgs } from "node:util";
import { failureReport, replayCommand, runLine, summary } from "./report";
import { type RunResult, runSchedule } from "./run";
import { describeSchedule, drawSchedule } from "./schedule";

const USAGE = `usage: npm run chaos -- [--runs N] [--seed S] [--size 3|5] [--episodes E] [--minutes M] [--verbose]
  --runs      runs, one after the other (default 1)
  --minutes   start no new run after this many minutes (default: no limit)
  --seed      32-bit integer; run i uses seed S+i, and the same seed replays the same schedule
              (default: random, printed)
  --size      cluster size for every run (default: drawn from each run's seed, 3 or 5)
  --episodes  episodes per run (default: drawn from each run's seed, 2 to 4)
  --verbose   print the simulator's progress (instances, events, membership changes)`;

class UsageError extends Error {
  override readonly name = "UsageError";
}

function integer(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(
      `--${name} must be an integer from ${min} to ${max}; received ${JSON.stringify(value)}`,
    );
  }
  return n;
}

function parse(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: "string" },
      seed: { type: "string" },
      size: { type: "string" },
      episodes: { type: "string" },
      minutes: { type: "string" },
      verbose: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  const size = integer("size", values.size, 3, 5);
  if (size !== undefined && size !== 3 && size !== 5) {
    throw new UsageError(`--size must be 3 or 5; received ${JSON.stringify(values.size)}`);
  }
  return {
    help: values.help === true,
    verbose: values.verbose === true,
    runs: integer("runs", values.runs, 1, 100_000) ?? 1,
    seed: integer("seed", values.seed, 0, 0xffffffff) ?? randomInt(0, 2 ** 31),
    size: size as 3 | 5 | undefined,
    episodes: integer("episodes", values.episodes, 1, 20),
    minutes: integer("minutes", values.minutes, 1, 100_000),
  };
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  console.log(`chaos: ${args.runs} run(s) from seed ${args.seed}`);
  const started = Date.now();
  const results: RunResult[] = [];
  let harnessErrors = 0;
  // Ctrl-C: print what the finished runs found, then exit, so the simulator's exit hook kills
  // every process the current run started.
  const interrupted = (code: number) => {
    console.log(
      `\ninterrupted during run ${results.length + 1}; totals of the ${results.length} finished runs:`,
    );
    for (const line of summary(results, Date.now() - started)) console.log(line);
    process.exit(code);
  };
  process.once("SIGINT", () => interrupted(130));
  process.once("SIGTERM", () => interrupted(143));
  for (let i = 0; i < args.runs; i++) {
    if (args.minutes !== undefined && Date.now() - started > args.minutes * 60_000) {
      console.log(`time budget of ${args.minutes} min spent: stopping after ${i} of ${args.runs} runs`);
      break;
    }
    const schedule = drawSchedule((args.seed + i) >>> 0, { size: args.size, episodes: args.episodes });
    if (args.verbose) for (const line of describeSchedule(schedule)) console.log(`  ${line}`);
    let result: RunResult;
    try {
      result = await runSchedule(schedule, {
        log: args.verbose ? (line) => console.log(`    ${line}`) : undefined,
      });
    } catch (error) {
      // The harness itself failed (the simulator did not start, etcd unreachable at the end):
      // no verdict for this seed, which still fails the command.
      console.log(
        `run ${i + 1}/${args.runs} seed ${schedule.seed}: ERROR ${(error as Error).stack ?? error}`,
      );
      console.log(`  replay: ${replayCommand(schedule)}`);
      harnessErrors += 1;
      continue;
    }
    results.push(result);
    console.log(runLine(result, i, args.runs));
    if (result.violations.length > 0) for (const line of failureReport(result)) console.log(line);
  }
  console.log("");
  for (const line of summary(results, Date.now() - started)) console.log(line);
  if (harnessErrors > 0) console.log(`runs that ended in a harness error (no verdict): ${harnessErrors}`);
  return harnessErrors > 0 || results.some((r) => r.violations.length > 0) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
