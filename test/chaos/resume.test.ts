// A campaign in parts (`npm run chaos -- ... --json FILE --resume`): the runs FILE holds must be of
// the campaign the command names, are not run again, and FILE then holds every run so far with one
// entry per part. The command's own runs need etcd; here every seed is done already, so the command
// runs none and only merges, which is what a part that finds its campaign complete does. Bad
// arguments are checked against the parser (chaos/cli-args.ts), and once through the command, which
// exits 2 before any run.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { parseChaosArgs, UsageError } from "../../chaos/cli-args";
import { noFaults } from "../../chaos/faults";
import { campaignJson } from "../../chaos/report";
import { campaignFileJson, earlierParts, ResumeError } from "../../chaos/resume";
import type { RunResult } from "../../chaos/run";
import { drawSchedule, type ScheduleOptions } from "../../chaos/schedule";

const ROOT = resolve(__dirname, "../..");
const run = promisify(execFile);

function result(seed: number, options: ScheduleOptions = {}): RunResult {
  return {
    schedule: drawSchedule(seed, options),
    faults: { ...noFaults(), "kill-9": 1 },
    writesAttempted: 10,
    writesAcknowledged: 10,
    writesVerified: 10,
    writesLostAfterSnapshot: 0,
    membershipChanges: { join: 1 },
    clusterIdsSeen: 1,
    generationsSeen: 1,
    maxLearners: 1,
    violations: [],
    durationMs: 60_000,
  };
}

function campaignFile(t: { after(fn: () => void): void }, results: RunResult[]): string {
  const dir = mkdtempSync(join(tmpdir(), "etcd-asg-resume-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "campaign.json");
  writeFileSync(file, JSON.stringify(campaignJson(results, 120_000, 0)));
  return file;
}

describe("chaos campaign in parts", () => {
  test("a file that does not exist yet is a first part: nothing done", () => {
    const parts = earlierParts(join(tmpdir(), "etcd-asg-no-such-campaign.json"), { seed: 100, runs: 10 });
    assert.deepEqual(parts, { results: [], parts: [], elapsedMs: 0, replaced: [] });
  });

  test("the runs of an earlier part come back, as one part of unknown start when it predates parts", (t) => {
    const file = campaignFile(t, [result(100), result(102)]);
    const parts = earlierParts(file, { seed: 100, runs: 10 });
    assert.deepEqual(
      parts.results.map((r) => r.schedule.seed),
      [100, 102],
    );
    assert.deepEqual(parts.parts, [{ startedAt: "unknown", runs: 2, elapsedMs: 120_000 }]);
    assert.equal(parts.elapsedMs, 120_000);
  });

  const refusals: [string, () => RunResult[], ScheduleOptions & { seed: number; runs: number }, RegExp][] = [
    [
      "a seed outside the campaign",
      () => [result(110)],
      { seed: 100, runs: 10 },
      /seed 110, outside .* 100 to 109/,
    ],
    ["a seed twice", () => [result(101), result(101)], { seed: 100, runs: 10 }, /seed 101 twice/],
    [
      "a run drawn with other options",
      () => [result(101, { size: 7 })],
      { seed: 100, runs: 10, size: 3 },
      /seed 101's schedule there is not the one it draws now/,
    ],
  ];
  for (const [what, results, campaign, message] of refusals) {
    test(`refuses a file with ${what}, naming it`, (t) => {
      const file = campaignFile(t, results());
      assert.throws(
        () => earlierParts(file, campaign),
        (error: unknown) => {
          assert.ok(error instanceof ResumeError);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  test("--rerun takes the file's runs of its seeds apart, and the next part's file keeps them under replaced", (t) => {
    const broken = {
      ...result(101),
      violations: [{ invariant: "no-quorum-loss" as const, detail: "overload" }],
    };
    const file = campaignFile(t, [result(100), broken, result(102), result(103)]);
    const earlier = earlierParts(file, { seed: 100, runs: 10 }, { from: 101, to: 102 });
    const seeds = (runs: readonly RunResult[]) => runs.map((r) => r.schedule.seed);
    assert.deepEqual(seeds(earlier.results), [100, 103]);
    assert.deepEqual(seeds(earlier.replaced), [101, 102]);
    // The part that played them again: what the command writes.
    const part = {
      startedAt: "2026-12-05T12:00:00.000Z",
      runs: 2,
      elapsedMs: 60_000,
      replaced: { seeds: { from: 101, to: 102 }, results: earlier.replaced },
    };
    writeFileSync(
      file,
      JSON.stringify(campaignFileJson(earlier, part, [result(101), result(102)], 180_000, 0)),
    );
    const written = JSON.parse(readFileSync(file, "utf8"));
    assert.equal(written.runs, 4);
    assert.equal(written.violations, 0, "the campaign counts the runs played again, not the replaced ones");
    // A later part without --rerun keeps every entry as written, the replaced runs with what they found.
    const later = earlierParts(file, { seed: 100, runs: 10 });
    assert.deepEqual(seeds(later.results), [100, 103, 101, 102]);
    assert.deepEqual(later.replaced, []);
    assert.deepEqual(later.parts[1]?.replaced?.seeds, { from: 101, to: 102 });
    assert.deepEqual(later.parts[1]?.replaced?.results[0]?.violations, broken.violations);
  });

  test("--rerun of seeds the file holds no run of is refused, naming them", (t) => {
    const file = campaignFile(t, [result(100)]);
    assert.throws(
      () => earlierParts(file, { seed: 100, runs: 10 }, { from: 105, to: 106 }),
      /cannot play seeds 105 to 106 again: .* holds no run of them/,
    );
    assert.throws(
      () =>
        earlierParts(
          join(tmpdir(), "etcd-asg-no-such-campaign.json"),
          { seed: 100, runs: 10 },
          { from: 100, to: 100 },
        ),
      /cannot play seeds again: .* does not exist/,
    );
  });

  test("refuses a file that is not a campaign's JSON", (t) => {
    const file = campaignFile(t, []);
    writeFileSync(file, JSON.stringify({ runs: 3 }));
    assert.throws(() => earlierParts(file, { seed: 1, runs: 3 }), /not a campaign's JSON/);
    writeFileSync(file, "{ half");
    assert.throws(() => earlierParts(file, { seed: 1, runs: 3 }), /not JSON/);
  });

  test("the command merges a complete campaign's parts and adds its own, running nothing again", async (t) => {
    const file = campaignFile(t, [result(200), result(201)]);
    const { stdout } = await run(
      "npx",
      ["--no-install", "tsx", "chaos/cli.ts", "--runs", "2", "--seed", "200", "--json", file, "--resume"],
      { cwd: ROOT },
    );
    assert.match(stdout, /resuming .*: 2 run\(s\) done in 1 part\(s\) before, 0 to go/);
    assert.match(stdout, /runs: 2 \(/);
    const written = JSON.parse(readFileSync(file, "utf8"));
    assert.equal(written.runs, 2);
    assert.equal(written.parts.length, 2);
    assert.equal(written.parts[1].runs, 0);
    assert.match(written.parts[1].commit, /^[0-9a-f]{7,}$/);
  });

  // Bad arguments, refused by the parser before anything runs, each naming what was wrong.
  const usageErrors: [string[], RegExp][] = [
    [["--runs", "2", "--resume"], /--resume needs --json FILE .* and --seed S/],
    [["--runs", "5", "--seed", "100", "--json", "f", "--rerun", "101-102"], /--rerun needs --resume/],
    [
      ["--runs", "5", "--seed", "100", "--json", "f", "--resume", "--rerun", "99-102"],
      /--rerun takes FROM-TO, seeds of this campaign \(100 to 104\) .*"99-102"/,
    ],
    [
      ["--runs", "5", "--seed", "100", "--json", "f", "--resume", "--rerun", "103-101"],
      /--rerun takes FROM-TO.*"103-101"/,
    ],
    [
      ["--runs", "5", "--seed", "100", "--json", "f", "--resume", "--rerun", "101"],
      /--rerun takes FROM-TO.*"101"/,
    ],
    [["--faults", "kill-9,partition-everything"], /unknown: "partition-everything"/],
  ];
  for (const [argv, message] of usageErrors) {
    test(`chaos ${argv.join(" ")} is a usage error`, () => {
      assert.throws(
        () => parseChaosArgs(argv),
        (error: Error) => error instanceof UsageError && message.test(error.message),
      );
    });
  }

  test("a usage error exits 2 before any run and leaves the file", async (t) => {
    const file = campaignFile(t, [result(100)]);
    await assert.rejects(
      run(
        "npx",
        [
          "--no-install",
          "tsx",
          "chaos/cli.ts",
          "--runs",
          "5",
          "--seed",
          "100",
          "--json",
          file,
          "--rerun",
          "101-102",
        ],
        { cwd: ROOT },
      ),
      (error: { code?: number; stderr?: string }) => {
        assert.equal(error.code, 2);
        assert.match(error.stderr ?? "", /--rerun needs --resume[\s\S]*usage: npm run chaos/);
        return true;
      },
    );
    assert.equal(JSON.parse(readFileSync(file, "utf8")).runs, 1, "the file is left as it was");
  });

  test("a mismatching file stops the command before any run, with exit 2", async (t) => {
    const file = campaignFile(t, [result(300)]);
    await assert.rejects(
      run(
        "npx",
        ["--no-install", "tsx", "chaos/cli.ts", "--runs", "5", "--seed", "301", "--json", file, "--resume"],
        {
          cwd: ROOT,
        },
      ),
      (error: { code?: number; stderr?: string }) => {
        assert.equal(error.code, 2);
        assert.match(error.stderr ?? "", /seed 300, outside this campaign's seeds 301 to 305/);
        return true;
      },
    );
    assert.equal(JSON.parse(readFileSync(file, "utf8")).runs, 1, "the file is left as it was");
  });
});
