// End to end on the simulator: the ways the group replaces instances of a healthy 3-node cluster —
// its EC2 health check after kill -9 of an instance (terminate and launch in parallel), and an
// instance refresh of every node started through the real SDK client, terminate-first — each
// ending with the member list equal to the InService instances and no key lost. A refresh that
// launches before it terminates is the one a deploy starts: test/e2e/roll.test.ts and
// roll-five.test.ts play it with a writer.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runInstanceRefresh } from "../../local/simulator/instance-refresh";
import { assertEndState, startSimulator } from "./simulator-bed";

test("replaces a killed instance and refreshes every instance, terminate-first", async (t) => {
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

  await t.test(
    "instance refresh terminate-first (MaxHealthyPercentage 100): every instance replaced",
    async () => {
      const originals = sim.instances("InService").map((i) => i.id);
      const preferences = { MinHealthyPercentage: 90, MaxHealthyPercentage: 100, InstanceWarmup: 2 };
      assert.equal(await runInstanceRefresh(sim, preferences, 180_000), "Successful");
      assert.deepEqual(
        sim.instances().filter((i) => originals.includes(i.id)),
        [],
        "no original instance is left",
      );
      await sim.writeKeys("after-terminate-first", 5);
      await assertEndState(sim);
    },
  );
});
