// End to end on the simulator: a 5-node cluster bootstraps from simultaneous launches; then
// EventBridge misbehaves — every lifecycle event delivered twice, and terminate events delayed
// behind the launch events that followed them — through a scale-in and a health replacement.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertEndState, startSimulator } from "./simulator-bed";

test("bootstraps 5 and converges through duplicated and reordered lifecycle events", async (t) => {
  const sim = await startSimulator(t, { size: 5, maxSize: 7 });

  await sim.waitConverged(150_000);
  assert.equal((await sim.members()).length, 5);
  await sim.writeKeys("bootstrap", 10);

  const deliveredBefore = sim.events.records.length;
  sim.events.injectFaults((event) => ({
    copies: 2,
    delayMs: event["detail-type"] === "EC2 Instance-terminate Lifecycle Action" ? 3000 : 0,
  }));
  // The group's MinSize is the cluster size: an operator lowers it for a maintenance scale-in.
  sim.group.update({ minSize: 4, desiredCapacity: 4 });
  await sim.waitConverged(120_000);
  await sim.writeKeys("at-4", 5);

  const [victim] = sim.instances("InService");
  assert.ok(victim);
  sim.group.markUnhealthy(victim.id);
  await sim.waitFor(
    "the unhealthy instance to leave",
    () => !sim.instances().some((i) => i.id === victim.id),
  );
  // Every event sent after the fault plan was delivered twice (the delayed copies may land late).
  const injectedFrom = deliveredBefore;
  await sim.waitFor("every injected event delivered twice", () => {
    const counts = new Map<string, number>();
    for (const r of sim.events.records.slice(injectedFrom)) {
      if (r.outcome === "delivered") counts.set(r.event.id, (counts.get(r.event.id) ?? 0) + 1);
    }
    return counts.size >= 3 && [...counts.values()].every((n) => n >= 2);
  });
  await assertEndState(sim);
});
