// End to end on the simulator: the ways the group replaces instances of a healthy 3-node cluster —
// its EC2 health check after kill -9 of an instance (terminate and launch in parallel), and an
// instance refresh of every node started through the real SDK client, terminate-first and
// launch-before-terminate — each ending with the member list equal to the InService instances and
// no key lost.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runInstanceRefresh } from "../../local/simulator/instance-refresh";
import { assertEndState, startSimulator } from "./simulator-bed";

test("replaces a killed instance and refreshes every instance, terminate-first and launch-first", async (t) => {
  const sim = await startSimulator(t, { size: 3, maxSize: 6, healthCheckDelayMs: 1000 });
  await sim.waitConverged(120_000);
  await sim.writeKeys("bootstrap", 10);

  await t.test("kill -9 of one of 3: the group's EC2 health check replaces it", async () => {
    const [victim] = sim.instances("InService");
    assert.ok(victim);
    await sim.killInstance(victim.id);
    await sim.writeKeys("after-kill", 5);
    // Marked Unhealthy by the EC2 health check, or by the reconciler's health pass (its etcd is dead
    // too), whichever comes first; a fast replacement may take it out between two polls, and
    // nothing but an Unhealthy mark takes an instance out here (no scale-in runs).
    await sim.waitFor("the killed instance to be marked Unhealthy", () => {
      const instance = sim.instances().find((i) => i.id === victim.id);
      return instance === undefined || instance.healthStatus === "Unhealthy";
    });
    await sim.waitFor("the killed instance to leave", () => !sim.instances().some((i) => i.id === victim.id));
    await assertEndState(sim);
  });

  for (const [order, minHealthyPercentage, maxHealthyPercentage] of [
    ["terminate-first", 90, 100],
    ["launch-before-terminate", 100, 110],
  ] as const) {
    await t.test(
      `instance refresh ${order} (MaxHealthyPercentage ${maxHealthyPercentage}): every instance replaced`,
      async () => {
        const originals = sim.instances("InService").map((i) => i.id);
        const preferences = {
          MinHealthyPercentage: minHealthyPercentage,
          MaxHealthyPercentage: maxHealthyPercentage,
          InstanceWarmup: 2,
        };
        assert.equal(await runInstanceRefresh(sim, preferences, 180_000), "Successful");
        assert.deepEqual(
          sim.instances().filter((i) => originals.includes(i.id)),
          [],
          "no original instance is left",
        );
        await sim.writeKeys(`after-${order}`, 5);
        await assertEndState(sim);
      },
    );
  }
});
