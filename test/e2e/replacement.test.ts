// End to end on the simulator: the ways the group replaces instances of a healthy 3-node cluster —
// health replacement after kill -9 (terminate and launch in parallel), launch before terminate
// (AZ rebalance) and an instance refresh of every node — each ending with the member list equal to
// the InService instances and no key lost.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertEndState, startSimulator } from "./simulator-bed";

test("replaces a killed node, rebalances launch-before-terminate and refreshes every instance", async (t) => {
  const sim = await startSimulator(t, { size: 3, maxSize: 6 });
  await sim.waitConverged(120_000);
  await sim.writeKeys("bootstrap", 10);

  await t.test("kill -9 of one of 3: the health check replaces it", async () => {
    const [victim] = sim.instances("InService");
    assert.ok(victim);
    sim.node(victim.id).killEtcd();
    await sim.writeKeys("after-kill", 5);
    sim.group.markUnhealthy(victim.id);
    await sim.waitFor("the killed instance to leave", () => !sim.instances().some((i) => i.id === victim.id));
    await assertEndState(sim);
  });

  await t.test("launch before terminate: the replacement joins before the old node leaves", async () => {
    const [old] = sim.instances("InService");
    assert.ok(old);
    sim.group.replaceInstance(old.id);
    await sim.waitFor(
      "the replaced instance to leave",
      () => !sim.instances().some((i) => i.id === old.id),
      120_000,
    );
    await sim.writeKeys("after-rebalance", 5);
    await assertEndState(sim);
  });

  await t.test("instance refresh: every instance replaced, one at a time", async () => {
    const originals = sim.instances("InService").map((i) => i.id);
    for (const id of originals) {
      sim.note(`instance refresh: replace ${id}`);
      sim.group.markUnhealthy(id);
      await sim.waitFor(`${id} to leave`, () => !sim.instances().some((i) => i.id === id), 120_000);
      await sim.waitConverged(120_000);
    }
    assert.deepEqual(
      sim.instances().filter((i) => originals.includes(i.id)),
      [],
      "no original instance is left",
    );
    await assertEndState(sim);
  });
});
