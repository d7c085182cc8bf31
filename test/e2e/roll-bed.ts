// A roll watched end to end: a writer putting keys with quorum the whole time, etcd's member list
// sampled every 100 ms, and the checks every roll makes — one replacement at a time (at most one
// learner, at most N + 1 voters), never fewer than N voters, no failed or lost write, and every
// instance on the launch template version the deploy made.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import type { GroupUpdateResult } from "../../local/aws/stack-update";
import type { Simulator } from "../../local/simulator/simulator";
import { assertEndState, watchMembers } from "./simulator-bed";

export async function rollAndCheck(
  sim: Simulator,
  context: Readonly<Record<string, string>>,
  expectedVersion: string,
): Promise<GroupUpdateResult> {
  const size = sim.size;
  const originals = sim.instances("InService").map((i) => i.id);
  const failures: string[] = [];
  let writing = true;
  let written = 0;
  const writer = (async () => {
    for (let i = 0; writing; i++) {
      try {
        await sim.writeKeys(`roll-${expectedVersion}/${i}`, 1);
        written++;
      } catch (error) {
        failures.push(error instanceof Error ? error.message : String(error));
      }
      await sleep(50);
    }
  })();
  const watch = watchMembers(sim, 100);
  const result = await sim.redeploy(context);
  writing = false;
  await writer;
  const lists = await watch.stop();

  assert.equal(result.status, "UPDATE_COMPLETE", result.reason);
  assert.equal(result.refreshes.length, 1, "one instance refresh");
  assert.deepEqual(failures, [], `writes failed during the roll (${written} succeeded)`);
  const voters = lists.map((members) => members.filter((m) => !m.isLearner).length);
  const learners = lists.map((members) => members.filter((m) => m.isLearner).length);
  assert.ok(Math.min(...voters) >= size, `never fewer than ${size} voters, saw ${Math.min(...voters)}`);
  assert.ok(Math.max(...voters) <= size + 1, `at most one voter more, saw ${Math.max(...voters)}`);
  assert.ok(Math.max(...learners) <= 1, `at most one learner at a time, saw ${Math.max(...learners)}`);
  // Each replacement joined, then its predecessor left: the member count went N, N + 1, N... once per node.
  const counts = lists.map((members) => members.length).filter((n, i, all) => n !== all[i - 1]);
  assert.deepEqual(
    counts,
    Array.from({ length: 2 * size + 1 }, (_, i) => (i % 2 === 0 ? size : size + 1)),
    "one node replaced at a time",
  );
  assert.deepEqual(
    sim.instances().filter((i) => originals.includes(i.id)),
    [],
    "every original instance was replaced",
  );
  assert.deepEqual(
    sim.instances().map((i) => i.launchTemplate?.version),
    Array.from({ length: size }, () => expectedVersion),
    "every instance runs the new launch template version",
  );
  assert.ok(written > 0, "the writer wrote during the roll");
  await assertEndState(sim);
  return result;
}
