// Regression test for a defect chaos found (seeds 1001 and 1003, e.g. `npm run chaos -- --runs 1
// --seed 1001 --size 3 --episodes 3`): with the `replace` strategy, a launch-before-terminate
// replacement (an instance refresh with extra capacity, an AZ rebalance) launched while the cluster
// was full and healthy, was told `not-a-member` and went InService outside etcd; the old node then
// left and its member was removed, and nothing let the new node join: the cluster stayed a voter
// short, and the reconciler did not report it as drift (it skips `not-a-member` instances).
import assert from "node:assert/strict";
import { test } from "node:test";
import { Simulator } from "../../local/simulator/simulator";

test("a launch-before-terminate replacement ends as a voting member once the old node has left", async () => {
  const sim = await Simulator.start({ size: 3 });
  try {
    await sim.waitConverged(120_000);
    const [old] = sim.instances("InService").sort((a, b) => a.launchTime - b.launchTime);
    assert.ok(old);
    sim.group.replaceInstance(old.id);
    await sim.waitFor(`${old.id} to leave`, () => !sim.instances().some((i) => i.id === old.id), 120_000);
    await sim.reconcile();
    await sim.waitConverged(30_000);
    assert.deepEqual(
      (await sim.members()).map((m) => m.name).sort(),
      sim
        .instances("InService")
        .map((i) => i.id)
        .sort(),
    );
  } finally {
    await sim.stop();
  }
});
