// `npm run chaos -- --runs N --seed S [--size 3|5|7] [--episodes E] [--parallel P] [--faults K,...]
// [--json FILE [--resume]]`: N chaos runs, P at a time, run i drawing its schedule from seed S+i (each on a fresh
// simulator with real etcd, on its own 127.0.X.0/24 block). Prints a line per run as it ends, a failing
// run's seed, violations and replay command, and the totals with a table per fault kind; exits 1 on
// any violation. Every process a run starts, and every network rule, is removed when it ends, also on
// Ctrl-C. With --resume, the command is one part of a campaign: the runs FILE holds are not run again
// (but those of --rerun's seeds) and FILE then holds them all (chaos/resume.ts).
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { type ChaosArgs, parseChaosArgs, USAGE } from "./cli-args";
import { failureReport, replayCommand, runLine, summary, violationsLine } from "./report";
import { type CampaignPart, campaignFileJson, type EarlierParts, earlierParts, ResumeError } from "./resume";
import { type RunResult, runSchedule } from "./run";
import { describeSchedule, drawSchedule } from "./schedule";

async function main(): Promise<number> {
  let args: ChaosArgs;
  try {
    args = parseChaosArgs(process.argv.slice(2));
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
async function playRun(args: ChaosArgs, i: number): Promise<RunResult | undefined> {
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
