// The boot script joins a running cluster: on the simulator, a real 3-member etcd cluster runs, the
// group launches a fourth instance, and the REAL boot script on it asks the REAL node-api bundle
// through the SigV4-checking function URL, is told to join as a learner, starts etcd, reports ready
// and is promoted to a voting member. A request signed with the wrong secret is refused with 403.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { assertEndState, startSimulator } from "../e2e/simulator-bed";

test("the boot script joins a running 3-member cluster as a learner and is promoted", async (t) => {
  const sim = await startSimulator(t, { size: 3, maxSize: 5 });
  await sim.waitConverged(120_000);
  const founders = new Set(sim.instances().map((i) => i.id));

  sim.setClusterSize(5);
  sim.setDesiredCapacity(4);
  await sim.waitConverged(120_000);
  const joiner = sim.instances().find((i) => !founders.has(i.id));
  assert.ok(joiner, "a fourth instance launched");
  const node = sim.node(joiner.id);
  await sim.waitFor("the boot script to finish", () => node.bootState !== "booting");

  const bootLog = readFileSync(node.bootLog, "utf8");
  assert.equal(node.bootExitCode, 0, bootLog);
  assert.match(bootLog, /decision: learner/);
  assert.match(bootLog, new RegExp(`the node API reports ${joiner.id} as a member`));
  const dropin = readFileSync(`${node.options.root}/systemd/etcd.service.d/20-etcd-asg.conf`, "utf8");
  assert.match(dropin, /ETCD_INITIAL_CLUSTER_STATE=existing/);
  // Told to join as a learner (above), it is a voter now: the node API promoted it.
  const member = (await sim.members()).find((m) => m.name === joiner.id);
  assert.equal(member?.isLearner, false);
  await assertEndState(sim);
});
