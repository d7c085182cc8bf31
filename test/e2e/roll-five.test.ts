// End to end on the simulator, 5 nodes: a deploy of another instance type rolls every node to the new
// launch template version one at a time (5 → 6 → 5 members per step), while a writer keeps writing
// with quorum and loses nothing. The only 5-node roll: the 3-node file covers the other cases.
import { test } from "node:test";
import { rollAndCheck } from "./roll-bed";
import { startSimulator } from "./simulator-bed";

test("a new instance type rolls 5 nodes one at a time, keeping every write", async (t) => {
  const sim = await startSimulator(t, { size: 5 });
  await sim.waitConverged(180_000);
  await sim.writeKeys("bootstrap", 10);
  await rollAndCheck(sim, { "etcd-asg:instanceType": "m7g.large" }, "2");
});
