// The arguments of `npm run chaos` (chaos/cli.ts): parsed and checked here, apart from the command,
// so that a bad one is refused, naming it, before anything runs.
import { randomInt } from "node:crypto";
import { parseArgs } from "node:util";
import { FAULT_KINDS, type FaultKind } from "./faults";
import type { SeedRange } from "./resume";
import { CLUSTER_SIZES, type ClusterSize } from "./schedule";

export const USAGE = `usage: npm run chaos -- [--runs N] [--seed S] [--size 3|5|7] [--episodes E] [--parallel P] [--minutes M]
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

export class UsageError extends Error {
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

/** The command's options from `argv` (without node and the script); throws UsageError on a bad one. */
export function parseChaosArgs(argv: string[]) {
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

export type ChaosArgs = ReturnType<typeof parseChaosArgs>;
