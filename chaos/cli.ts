// `npm run chaos -- --runs N --seed S [--size 3|5|7] [--episodes E] [--parallel P] [--faults K,...]
// [--json FILE [--resume]]`: N chaos runs, P at a time, run i drawing its schedule from seed S+i (each on a fresh
// simulator with real etcd, on its own 127.0.X.0/24 block). Prints a line per run as it ends, a failing
// run's seed, violations and replay command, and the totals with a table per fault kind; exits 1 on
// any violation. Every process a run starts, and every network rule, is removed when it ends, also on
// Ctrl-C. With --resume, the command is one part of a campaign: the runs FILE holds are not run again
// (but those of --rerun's seeds) and FILE then holds them all (chaos/resume.ts).
import { execFileSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { FAULT_KINDS, type FaultKind } from "./faults";
import { failureReport, replayCommand, runLine, summary, violationsLine } from "./report";
import {
  type CampaignPart,
  campaignFileJson,
  type EarlierParts,
  earlierParts,
  ResumeError,
  type SeedRange,
} from "./resume";
import { type RunResult, runSchedule } from "./run";
import { CLUSTER_SIZES, type ClusterSize, describeSchedule, drawSchedule } from "./schedule";

const USAGE = `usage: npm run chaos -- [--runs N] [--seed S] [--size 3|5|7] [--episodes E] [--parallel P] [--minutes M]
                        [--faults KIND[,KIND...]] [--json FILE [--resume [--rerun FROM-TO]]] [--verbose]
  --runs      runs (default 1)
  --parallel  runs at a time, each on its own simulator (default 1; a run mostly waits on timers
              and hook timeouts, so 3-4 fit on 2 cores)
  --minutes   start no new run after this many minutes (default: no limit)
  --seed      32-bit integer; run i uses seed S+i, and the same seed replays the same schedule
              (default: random, printed)
  --size      cluster size for every run (default: drawn from each run's seed: 3, 5 or 7)
  --episodes  episodes per run (default: drawn from each run's seed, 2 to 4)
  --faults    only these fault kinds (default: all): ${FAULT_KINDS.join(", ")}
  --json      also write the runs and the per-kind table to FILE as JSON (also on Ctrl-C: the
              runs finished by then)
  --resume    continue the campaign FILE holds (one part of a long one): its runs, which must be
              of these --seed, --runs, --size, --episodes and --faults, are not run again, and FILE
              then holds every run so far; without FILE, the first part
  --rerun     with --resume: play FILE's runs of seeds FROM to TO again (say, a part that ran on a
              defective harness or an overloaded machine); FILE keeps what they found then in this
              part's entry, under "replaced", and counts the new runs in their place
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
      parallel: { type: "string" },
      faults: { type: "string" },
      json: { type: "string" },
      resume: { type: "boolean" },
      rerun: { type: "string" },
      verbose: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  const size = integer("size", values.size, 3, 7);
  if (size !== undefined && !(CLUSTER_SIZES as readonly number[]).includes(size)) {
    throw new UsageError(`--size must be 3, 5 or 7; received ${JSON.stringify(values.size)}`);
  }
  if (values.resume === true && (values.json === undefined || values.seed === undefined)) {
    throw new UsageError(
      "--resume needs --json FILE (the campaign so far) and --seed S (the campaign's first seed)",
    );
  }
  const runs = integer("runs", values.runs, 1, 100_000) ?? 1;
  const seed = integer("seed", values.seed, 0, 0xffffffff) ?? randomInt(0, 2 ** 31);
  return {
    help: values.help === true,
    verbose: values.verbose === true,
    runs,
    seed,
    rerun: seedRange(values.rerun, values.resume === true, seed, runs),
    size: size as ClusterSize | undefined,
    faults: faultKinds(values.faults),
    json: values.json,
    resume: values.resume === true,
    episodes: integer("episodes", values.episodes, 1, 20),
    minutes: integer("minutes", values.minutes, 1, 100_000),
    parallel: integer("parallel", values.parallel, 1, 16) ?? 1,
  };
}

/** `--rerun FROM-TO`: seeds of the campaign being resumed. */
function seedRange(
  value: string | undefined,
  resume: boolean,
  seed: number,
  runs: number,
): SeedRange | undefined {
  if (value === undefined) return undefined;
  if (!resume) {
    throw new UsageError("--rerun needs --resume (it plays again runs of the campaign FILE holds)");
  }
  const match = /^(\d+)-(\d+)$/.exec(value);
  const from = Number(match?.[1]);
  const to = Number(match?.[2]);
  if (match === null || from > to || from < seed || to > seed + runs - 1) {
    throw new UsageError(
      `--rerun takes FROM-TO, seeds of this campaign (${seed} to ${seed + runs - 1}) with FROM <= TO; received ${JSON.stringify(value)}`,
    );
  }
  return { from, to };
}

function faultKinds(value: string | undefined): FaultKind[] | undefined {
  if (value === undefined) return undefined;
  const kinds = value.split(",").map((kind) => kind.trim());
  const unknown = kinds.filter((kind) => !(FAULT_KINDS as readonly string[]).includes(kind));
  if (unknown.length > 0 || kinds.length === 0) {
    throw new UsageError(
      `--faults takes fault kinds separated by commas; unknown: ${JSON.stringify(unknown.join(",") || value)}`,
    );
  }
  return kinds as FaultKind[];
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
  let earlier: EarlierParts = { results: [], parts: [], elapsedMs: 0, replaced: [] };
  if (args.resume && args.json !== undefined) {
    try {
      earlier = earlierParts(args.json, args, args.rerun);
    } catch (error) {
      if (!(error instanceof ResumeError)) throw error;
      console.error(error.message);
      return 2;
    }
  }
  const done = new Set(earlier.results.map((r) => r.schedule.seed));
  // The indices of the runs still to play, taken from the front by the workers.
  const queue = Array.from({ length: args.runs }, (_, i) => i).filter((i) => !done.has(args.seed + i));
  const workers = Math.min(args.parallel, queue.length);
  console.log(`chaos: ${args.runs} run(s) from seed ${args.seed}, ${args.parallel} at a time`);
  if (args.resume) {
    console.log(
      `resuming ${args.json}: ${done.size} run(s) done in ${earlier.parts.length} part(s) before, ${queue.length} to go`,
    );
  }
  if (args.rerun !== undefined) {
    console.log(
      `playing seeds ${args.rerun.from} to ${args.rerun.to} again: ${earlier.replaced.length} earlier run(s) (${violationsLine(earlier.replaced)}), kept in this part's entry as "replaced"`,
    );
  }
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const results: RunResult[] = [];
  let harnessErrors = 0;
  const campaign = () => [...earlier.results, ...results];
  const elapsed = () => earlier.elapsedMs + Date.now() - started;
  const writeJson = () => {
    if (args.json === undefined) return;
    const part: CampaignPart = {
      startedAt,
      commit: headCommit(),
      runs: results.length,
      elapsedMs: Date.now() - started,
      ...(args.rerun === undefined ? {} : { replaced: { seeds: args.rerun, results: earlier.replaced } }),
    };
    const json = campaignFileJson(earlier, part, results, elapsed(), harnessErrors);
    writeFileSync(args.json, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`JSON written to ${args.json}`);
  };
  // Ctrl-C: print what the finished runs found and write them, then exit, so each simulator's exit
  // hook kills every process its run started.
  const interrupted = (code: number) => {
    console.log(`\ninterrupted; totals of the ${campaign().length} finished runs:`);
    for (const line of summary(campaign(), elapsed())) console.log(line);
    writeJson();
    process.exit(code);
  };
  process.once("SIGINT", () => interrupted(130));
  process.once("SIGTERM", () => interrupted(143));
  let budgetNoted = false;
  const worker = async () => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      if (args.minutes !== undefined && Date.now() - started > args.minutes * 60_000) {
        if (!budgetNoted) console.log(`time budget of ${args.minutes} min spent: starting no new run`);
        budgetNoted = true;
        return;
      }
      const outcome = await playRun(args, i);
      if (outcome === undefined) harnessErrors += 1;
      else results.push(outcome);
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  console.log("");
  for (const line of summary(campaign(), elapsed())) console.log(line);
  writeJson();
  if (harnessErrors > 0) console.log(`runs that ended in a harness error (no verdict): ${harnessErrors}`);
  return harnessErrors > 0 || campaign().some((r) => r.violations.length > 0) ? 1 : 0;
}

/** The commit this checkout is on, to tell a campaign's parts apart; undefined outside a git checkout. */
function headCommit(): string | undefined {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: __dirname,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return undefined;
  }
}

/** Plays run `i` and prints its line; undefined when the harness itself failed (no verdict). */
async function playRun(args: ReturnType<typeof parse>, i: number): Promise<RunResult | undefined> {
  const schedule = drawSchedule((args.seed + i) >>> 0, {
    size: args.size,
    episodes: args.episodes,
    faults: args.faults,
  });
  if (args.verbose) for (const line of describeSchedule(schedule)) console.log(`  ${line}`);
  let result: RunResult;
  try {
    result = await runSchedule(schedule, {
      log: args.verbose ? (line) => console.log(`    ${line}`) : undefined,
    });
  } catch (error) {
    // The harness itself failed (the simulator did not start, etcd unreachable at the end): no
    // verdict for this seed, which still fails the command.
    console.log(`run ${i + 1}/${args.runs} seed ${schedule.seed}: ERROR ${(error as Error).stack ?? error}`);
    console.log(`  replay: ${replayCommand(schedule)}`);
    return undefined;
  }
  console.log(runLine(result, i, args.runs));
  if (result.violations.length > 0) for (const line of failureReport(result)) console.log(line);
  return result;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
