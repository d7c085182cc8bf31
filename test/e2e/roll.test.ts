// End to end on the simulator, 3 nodes: deploys onto a running cluster as CloudFormation applies
// them. A change that touches no node (the functions' join strategy) replaces none. A new instance
// type makes a new launch template version, which the group's AutoScalingInstanceRefresh update
// policy rolls one node at a time, launch before terminate, while a writer keeps writing. etcd 3.7.0
// on a cluster running 3.5 (a skipped minor) is refused at its first node: the node does not start
// etcd, its launch is abandoned, the refresh fails and the stack rolls back, the cluster untouched.
// The simulator runs one etcd binary (3.4.23 on Debian): the version rules are checked against the
// release each node reports from its launch template (ETCD_ASG_ETCD_VERSION), as on AWS, where the
// boot script installs exactly that release.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { rollAndCheck } from "./roll-bed";
import { assertEndState, startSimulator } from "./simulator-bed";

test("deploys onto 3 nodes: no roll without a node change, a roll of a new template, a refused etcd version", async (t) => {
  const sim = await startSimulator(t, { size: 3 });
  await sim.waitConverged(120_000);
  await sim.writeKeys("bootstrap", 10);
  const running = () =>
    sim
      .instances()
      .map((i) => `${i.id}@${i.launchTemplate?.version}`)
      .sort();

  await t.test("a change to the functions only (the join strategy) replaces no node", async () => {
    const before = running();
    const result = await sim.redeploy({ "etcd-asg:joinStrategy": "prune" });
    assert.equal(result.status, "UPDATE_COMPLETE");
    assert.deepEqual(result.refreshes, []);
    assert.deepEqual(running(), before);
    assert.equal(sim.group.launchTemplate?.version, "1");
  });

  await t.test("a new instance type rolls every node, one at a time", async () => {
    await rollAndCheck(sim, { "etcd-asg:instanceType": "m7g.large" }, "2");
  });

  await t.test("etcd 3.7.0 on a 3.5 cluster stops at its first node and rolls the stack back", async () => {
    const before = running();
    const result = await sim.redeploy({
      "etcd-asg:etcdVersion": "3.7.0",
      // Never downloaded here (the simulator's etcd is installed); the construct needs one for a release it does not pin.
      "etcd-asg:etcdSha256": "0".repeat(64),
    });
    assert.equal(result.status, "UPDATE_ROLLBACK_COMPLETE", result.reason);
    assert.match(result.reason ?? "", /launch of replacement instance (i-[0-9a-f]+) was abandoned/);
    const refused = /replacement instance (i-[0-9a-f]+)/.exec(result.reason ?? "")?.[1] ?? "";
    const reason = /skips? .*minor|minor.*skip/i;
    const bootLog = readFileSync(sim.node(refused).bootLog, "utf8");
    assert.match(bootLog, /error: etcd 3\.7\.0 refused, etcd is not started: /);
    assert.match(bootLog, reason);
    const logs = join(sim.root, "lambda-logs");
    const controlPlane = readdirSync(logs)
      .map((f) => readFileSync(join(logs, f), "utf8"))
      .join("\n");
    assert.match(controlPlane, /etcd version refused; abandoning the launch/);
    assert.match(controlPlane, reason);
    assert.deepEqual(running(), before, "no running node was replaced");
    assert.equal(sim.group.launchTemplate?.version, "2", "the group names the old version again");
    await sim.writeKeys("after-refusal", 5);
    await assertEndState(sim);
  });
});
