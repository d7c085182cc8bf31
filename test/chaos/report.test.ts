// The campaign report: the per-kind table counts, for each fault kind, the runs that injected it, how
// often, and the violations of those runs; the JSON holds the same and each run without its timeline.
import assert from "node:assert/strict";
import { test } from "node:test";
import { noFaults } from "../../chaos/faults";
import { campaignJson, perKind, summary } from "../../chaos/report";
import type { RunResult } from "../../chaos/run";
import { drawSchedule } from "../../chaos/schedule";

function result(seed: number, faults: Partial<ReturnType<typeof noFaults>>, violations: number): RunResult {
  return {
    schedule: drawSchedule(seed, { size: 7 }),
    faults: { ...noFaults(), ...faults },
    writesAttempted: 10,
    writesAcknowledged: 10,
    writesVerified: 10,
    writesLostAfterSnapshot: 0,
    membershipChanges: { bootstrap: 1 },
    clusterIdsSeen: 1,
    generationsSeen: 1,
    maxLearners: 0,
    violations: Array.from({ length: violations }, () => ({
      invariant: "no-removal-for-healed-partition" as const,
      detail: "x",
    })),
    durationMs: 60_000,
    timeline: ["a line"],
  };
}

const RESULTS = [
  result(1, { "partition-one": 2, latency: 1 }, 0),
  result(2, { "partition-one": 1 }, 1),
  result(3, { "kill-9": 1 }, 0),
];

test("the per-kind table counts runs, faults and the violations of the runs that injected the kind", () => {
  const rows = new Map(perKind(RESULTS).map((row) => [row.kind, row]));
  assert.deepEqual(rows.get("partition-one"), { kind: "partition-one", runs: 2, faults: 3, violations: 1 });
  assert.deepEqual(rows.get("latency"), { kind: "latency", runs: 1, faults: 1, violations: 0 });
  assert.deepEqual(rows.get("kill-9"), { kind: "kill-9", runs: 1, faults: 1, violations: 0 });
  assert.deepEqual(rows.get("freeze"), { kind: "freeze", runs: 0, faults: 0, violations: 0 });
});

test("the summary counts runs by size and prints the table's rows", () => {
  const lines = summary(RESULTS, 180_000);
  assert.match(lines[0] ?? "", /^runs: 3 \(0 of 3, 0 of 5, 3 of 7 nodes\) in 3\.0 min, 60s per run$/);
  assert.ok(
    lines.some((line) => /^ {2}partition-one +2 +3 +1$/.test(line)),
    lines.join("\n"),
  );
});

test("the JSON has the totals, the table and each run without its timeline", () => {
  const json = campaignJson(RESULTS, 180_000, 1);
  assert.equal(json.runs, 3);
  assert.equal(json.harnessErrors, 1);
  assert.equal(json.violations, 1);
  assert.equal(json.byKind.length, perKind(RESULTS).length);
  assert.equal("timeline" in (json.results[0] ?? {}), false);
});
