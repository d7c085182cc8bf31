// End to end on the simulator: a 3-node cluster bootstraps from simultaneous launches, grows to 5
// one instance at a time after a CLUSTER_SIZE deploy, and shrinks back to 3 in one step.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertEndState, startSimulator } from "./simulator-bed";

test("bootstraps 3, scales out 3→5 one change at a time and in 5→3, keeping every key", async (t) => {
  const sim = await startSimulator(t, { size: 3, maxSize: 6 });

  await sim.waitConverged(120_000);
  assert.equal(sim.instances("InService").length, 3);
  await sim.writeKeys("bootstrap", 10);

  sim.setClusterSize(5);
  for (const desired of [4, 5]) {
    sim.setDesiredCapacity(desired);
    await sim.waitConverged(120_000);
    assert.equal((await sim.members()).length, desired);
    await sim.writeKeys(`at-${desired}`, 5);
  }

  sim.setDesiredCapacity(3);
  await sim.waitConverged(120_000);
  assert.equal((await sim.members()).length, 3);
  await assertEndState(sim);
});
