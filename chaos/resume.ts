// A campaign in parts (`--resume`): a long campaign (1,000 runs take most of a day on 2 cores) runs
// as several commands, each continuing the JSON the one before wrote. The file's runs must belong to
// the campaign the command names: every one's seed in S..S+N-1, each seed once, each schedule the
// one the seed draws with the same --size, --episodes and --faults. Their seeds are not run again;
// the runs of this part are added, and the file then holds the whole campaign so far, with one
// entry per part (when it started, its commit, its runs and time).
// `--rerun FROM-TO` plays the file's runs of those seeds again (a part that ran on a defective harness
// or an overloaded machine): they leave the campaign's runs, and the new part's entry keeps them, as
// written, under `replaced`, so the file still holds everything every part found.
import { existsSync, readFileSync } from "node:fs";
import * as z from "../lambdas/schema";
import { campaignJson } from "./report";
import type { RunResult } from "./run";
import { drawSchedule, type ScheduleOptions } from "./schedule";

export class ResumeError extends Error {
  override readonly name = "ResumeError";
}

/** Seeds `from` to `to` of a campaign, both included. */
export interface SeedRange {
  readonly from: number;
  readonly to: number;
}

export interface CampaignPart {
  readonly startedAt: string;
  /** The commit the part ran on (git's HEAD), when known. */
  readonly commit?: string;
  readonly runs: number;
  readonly elapsedMs: number;
  /** The earlier runs this part played again (`--rerun`), as they were written. */
  readonly replaced?: { readonly seeds: SeedRange; readonly results: readonly RunResult[] };
}

export interface EarlierParts {
  readonly results: RunResult[];
  readonly parts: CampaignPart[];
  /** The earlier parts' time together. */
  readonly elapsedMs: number;
  /** The file's runs of the `--rerun` seeds: not among `results`, to be played again. */
  readonly replaced: RunResult[];
}

export interface Campaign extends ScheduleOptions {
  readonly seed: number;
  readonly runs: number;
}

const count = z.number().check(z.int(), z.nonnegative());
// What the totals read of each run; the rest of a run (its schedule's episodes, its violations'
// details) is kept as written.
const runSchema = z.looseObject({
  schedule: z.looseObject({ seed: count }),
  faults: z.record(z.string(), count),
  writesAttempted: count,
  writesAcknowledged: count,
  writesVerified: count,
  writesLostAfterSnapshot: count,
  membershipChanges: z.record(z.string(), count),
  violations: z.array(z.looseObject({ invariant: z.string(), detail: z.string() })),
  durationMs: z.number(),
});
const fileSchema = z.looseObject({
  elapsedMs: z.number().check(z.nonnegative()),
  results: z.array(runSchema),
  parts: z.optional(
    z.array(
      z.object({
        startedAt: z.string(),
        commit: z.optional(z.string()),
        runs: count,
        elapsedMs: z.number(),
        replaced: z.optional(
          z.object({ seeds: z.object({ from: count, to: count }), results: z.array(runSchema) }),
        ),
      }),
    ),
  ),
});

/**
 * The runs `file` holds of `campaign` (none when it does not exist yet), checked as said above; those
 * of the `rerun` seeds, which the file must hold at least one of, apart.
 */
export function earlierParts(file: string, campaign: Campaign, rerun?: SeedRange): EarlierParts {
  if (!existsSync(file)) {
    if (rerun !== undefined) throw new ResumeError(`cannot play seeds again: ${file} does not exist`);
    return { results: [], parts: [], elapsedMs: 0, replaced: [] };
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ResumeError(`cannot resume from ${file}: not JSON (${(error as Error).message})`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    throw new ResumeError(
      `cannot resume from ${file}: not a campaign's JSON (${z.prettifyError(parsed.error)})`,
    );
  }
  const { results, elapsedMs } = parsed.data;
  const seen = new Set<number>();
  for (const result of results) {
    const { seed } = result.schedule;
    const index = seed - campaign.seed;
    if (index < 0 || index >= campaign.runs) {
      throw new ResumeError(
        `cannot resume from ${file}: it holds seed ${seed}, outside this campaign's seeds ${campaign.seed} to ${campaign.seed + campaign.runs - 1}`,
      );
    }
    if (seen.has(seed)) throw new ResumeError(`cannot resume from ${file}: it holds seed ${seed} twice`);
    seen.add(seed);
    const drawn = drawSchedule(seed, campaign);
    if (JSON.stringify(drawn) !== JSON.stringify(result.schedule)) {
      throw new ResumeError(
        `cannot resume from ${file}: seed ${seed}'s schedule there is not the one it draws now; give the same --size, --episodes and --faults as the earlier parts (and the same code's schedules)`,
      );
    }
  }
  const parts = parsed.data.parts ?? [{ startedAt: "unknown", runs: results.length, elapsedMs }];
  // The file's runs were written from RunResult objects and checked above.
  const runs = results as unknown as RunResult[];
  const again = (r: RunResult) =>
    rerun !== undefined && r.schedule.seed >= rerun.from && r.schedule.seed <= rerun.to;
  const replaced = runs.filter(again);
  if (rerun !== undefined && replaced.length === 0) {
    throw new ResumeError(
      `cannot play seeds ${rerun.from} to ${rerun.to} again: ${file} holds no run of them`,
    );
  }
  // Parts written before `replaced` existed, and the replaced runs, are as the file holds them.
  return { results: runs.filter((r) => !again(r)), parts: parts as CampaignPart[], elapsedMs, replaced };
}

/** What FILE holds after a part: the earlier runs and this part's, and every part's entry. */
export function campaignFileJson(
  earlier: EarlierParts,
  part: CampaignPart,
  results: readonly RunResult[],
  elapsedMs: number,
  harnessErrors: number,
) {
  return {
    ...campaignJson([...earlier.results, ...results], elapsedMs, harnessErrors),
    parts: [...earlier.parts, part],
  };
}
