// End to end on the simulator, 3 nodes: deploys onto a running cluster as CloudFormation applies
// them. A change that touches no node (the functions' join strategy) replaces none. A new instance
// type makes a new launch template version, which the group's AutoScalingInstanceRefresh update
// policy rolls one node at a time, launch before terminate, while a writer keeps writing. etcd 3.4.23
// on a cluster running 3.5 (a downgrade) is refused at its first node: the node does not start etcd,
// its launch is abandoned, the refresh fails and the stack rolls back, the cluster untouched and its
// recorded etcd version still 3.5. A skipped minor (3.7.0 on 3.5) takes the same path from the same
// refusal; the rule is checked by test/unit/domain/etcd-version.test.ts and roll.test.ts, the node's
// side by test/boot/boot-output.test.ts. A roll whose first
// replacement never boots fails once its launch hook times out and rolls back the same way.
// The simulator runs one etcd binary (3.4.23 on Debian): the version rules are checked against the
// release each node reports from its launch template (ETCD_ASG_ETCD_VERSION), as on AWS, where the
// boot script installs exactly that release.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { ClusterStatus } from "../../lambdas/domain/cluster-status";
import type { Simulator } from "../../local/simulator/simulator";
import { rollAndCheck } from "./roll-bed";
import { assertEndState, startSimulator } from "./simulator-bed";

/** The launch hook's timeout (the stack: 15 min), short enough for the stuck roll below and long
 * enough for every launch of a bootstrap or a roll on a loaded machine. */
const LAUNCH_TIMEOUT_MS = 30_000;
/** The deploy's own start and the rollback refresh, past the launch hook's timeout. */
const BOUND_MARGIN_MS = 30_000;

test("deploys onto 3 nodes: no roll without a node change, a roll of a new template, refused etcd versions", async (t) => {
  const sim = await startSimulator(t, { size: 3, launchHeartbeatTimeoutMs: LAUNCH_TIMEOUT_MS });
  await sim.waitConverged(120_000);
  await sim.writeKeys("bootstrap", 10);

  await t.test("the ledger records the cluster's etcd version, which status shows", async () => {
    await sim.reconcile();
    const status = await clusterStatus(sim);
    assert.equal(status.cluster?.etcdVersion, "3.5");
    assert.deepEqual(
      status.instances.map((i) => i.etcdVersion),
      ["3.5.21", "3.5.21", "3.5.21"],
    );
  });

  await t.test("a change to the functions only (the join strategy) replaces no node", async () => {
    const before = running(sim);
    const result = await sim.redeploy({ "etcd-asg:joinStrategy": "prune" });
    assert.equal(result.status, "UPDATE_COMPLETE");
    assert.deepEqual(result.refreshes, []);
    assert.deepEqual(running(sim), before);
    assert.equal(sim.group.launchTemplate?.version, "1");
  });

  await t.test("a new instance type rolls every node, one at a time", async () => {
    await rollAndCheck(sim, { "etcd-asg:instanceType": "m7g.large" }, "2");
  });

  await t.test(
    "etcd 3.4.23 on a 3.5 cluster (a downgrade) stops at its first node and rolls the stack back",
    async () => {
      await assertRefused(sim, "3.4.23", /3\.4\.23 is below the cluster version 3\.5/, "downgrade");
    },
  );

  await t.test(
    "a replacement that never boots fails the roll within the launch hook's timeout and rolls the stack back",
    async () => {
      const before = running(sim);
      sim.skipBoots(1);
      const result = await sim.redeploy({ "etcd-asg:instanceType": "m7g.xlarge" });
      assert.equal(result.status, "UPDATE_ROLLBACK_COMPLETE", result.reason);
      // The roll's own time, from the forward refresh's start to the rollback's end: the synthesis
      // and asset publishing before it depend on the machine's load, not on the roll.
      const first = result.refreshes[0];
      const last = result.refreshes.at(-1);
      assert.ok(first !== undefined && last?.endTime !== undefined, JSON.stringify(result.refreshes));
      const tookMs = last.endTime - first.startTime;
      const abandoned = /launch of replacement instance (i-[0-9a-f]+) was abandoned/.exec(
        result.reason ?? "",
      );
      assert.ok(abandoned?.[1], result.reason);
      // The step's bound: a replacement from a new launch template version joins only once it reports
      // its etcd release, so one that never boots holds its launch until the hook times out (the stack:
      // 15 min) and is abandoned; the rollback refresh then skips the nodes still on the old version.
      const boundMs = LAUNCH_TIMEOUT_MS + BOUND_MARGIN_MS;
      assert.ok(tookMs <= boundMs, `the failed roll took ${tookMs} ms, over its bound of ${boundMs} ms`);
      assert.deepEqual(running(sim), before, "no running node was replaced");
      await sim.writeKeys("after-stuck-roll", 5);
      // Its launch action is the one that timed out, as meant.
      await assertEndState(sim, [
        { instanceId: abandoned[1], hookName: sim.hookName("launch"), result: "ABANDON" },
      ]);
    },
  );
});

/** Each instance with the launch template version it runs. */
function running(sim: Simulator): string[] {
  return sim
    .instances()
    .map((i) => `${i.id}@${i.launchTemplate?.version}`)
    .sort();
}

function clusterStatus(sim: Simulator): Promise<ClusterStatus> {
  return sim.fn("reconciler").invoke({ operation: "status" }) as Promise<ClusterStatus>;
}

/**
 * Deploys etcd `version` and checks that the roll stops at its first node: the refusal's reason in
 * the node's boot log and in the control plane's logs, the stack rolled back to launch template
 * version 2, no running node replaced, the recorded cluster version still 3.5, the cluster healthy.
 */
async function assertRefused(sim: Simulator, version: string, reason: RegExp, keys: string): Promise<void> {
  const before = running(sim);
  const result = await sim.redeploy({
    "etcd-asg:etcdVersion": version,
    // Never downloaded here (the simulator's etcd is installed); the construct needs one for a release it does not pin.
    "etcd-asg:etcdSha256": "0".repeat(64),
  });
  assert.equal(result.status, "UPDATE_ROLLBACK_COMPLETE", result.reason);
  assert.match(result.reason ?? "", /launch of replacement instance (i-[0-9a-f]+) was abandoned/);
  const refused = /replacement instance (i-[0-9a-f]+)/.exec(result.reason ?? "")?.[1] ?? "";
  const bootLog = readFileSync(sim.node(refused).bootLog, "utf8");
  assert.match(
    bootLog,
    new RegExp(`error: etcd ${version.replaceAll(".", "\\.")} refused, etcd is not started: `),
  );
  assert.match(bootLog, reason);
  const logs = join(sim.root, "lambda-logs");
  const controlPlane = readdirSync(logs)
    .map((f) => readFileSync(join(logs, f), "utf8"))
    .join("\n");
  assert.match(controlPlane, /etcd version refused; abandoning the launch/);
  assert.match(controlPlane, reason);
  assert.deepEqual(running(sim), before, "no running node was replaced");
  assert.equal(sim.group.launchTemplate?.version, "2", "the group names the old version again");
  await sim.reconcile();
  assert.equal((await clusterStatus(sim)).cluster?.etcdVersion, "3.5", "the recorded version stays");
  await sim.writeKeys(`after-${keys}-refusal`, 5);
  await assertEndState(sim);
}
