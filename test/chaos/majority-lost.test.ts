// The majority-lost fault kind, played by the chaos runner itself on a 3-node simulator, twice in a
// run (seed 17 draws both): a snapshot, a few seconds of writes, then 2 of the 3 voters' instances
// destroyed for good; once the new generation serves, another snapshot and all 3 destroyed. The
// fault really happens — each time the control plane opens a new ledger generation and a cluster
// serves again under a new cluster ID (the monitor sees three generations, one cluster ID each) —
// and every invariant holds: the writes acknowledged up to each loss's snapshot are read back, those
// after it are either read back or counted as lost after the snapshot, and nothing else is missing
// (the writes between the two losses, acknowledged by the second generation, included).
import assert from "node:assert/strict";
import { test } from "node:test";
import { failureReport } from "../../chaos/report";
import { runSchedule } from "../../chaos/run";
import { drawSchedule } from "../../chaos/schedule";

const SCHEDULE = drawSchedule(17, { size: 3, episodes: 2, faults: ["majority-lost"] });

test("majority-lost: 2 of 3, then all 3, destroyed after a snapshot; each time a new generation serves under a new cluster ID and every invariant holds", async (t) => {
  const lines: string[] = [];
  const result = await runSchedule(SCHEDULE, { log: (line) => lines.push(line) }).catch((error: unknown) => {
    console.error(lines.join("\n"));
    throw error;
  });
  if (result.violations.length > 0) console.error([...lines, ...failureReport(result)].join("\n"));
  assert.deepEqual(result.violations, []);
  assert.deepEqual(
    SCHEDULE.episodes.map((e) => e.majorityLost?.victims),
    ["majority", "all"],
    "seed 17 no longer draws a majority, then all",
  );
  assert.equal(result.faults["majority-lost"], 2, "a majority was not destroyed twice");
  assert.equal(result.generationsSeen, 3, "no cluster was seen serving under each of three generations");
  assert.ok(
    result.clusterIdsSeen >= 3,
    `the members reported ${result.clusterIdsSeen} cluster IDs, not a new one each time`,
  );
  assert.ok(result.writesAcknowledged > 0, "the client acknowledged no write");
  assert.equal(result.writesVerified + result.writesLostAfterSnapshot, result.writesAcknowledged);
  t.diagnostic(
    `writes ${result.writesVerified}/${result.writesAcknowledged} verified, ${result.writesLostAfterSnapshot} lost after the snapshot, run ${(result.durationMs / 1000).toFixed(0)} s`,
  );
});
