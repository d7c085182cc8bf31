// End to end on the simulator: what the reconciler and the learner timeout repair — a lost
// terminate event, a node that never boots (its learner removed, the launch ABANDONed, the
// instance replaced) and an IP address reused while a stale member still holds it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertEndState, startSimulator, watchMembers } from "./simulator-bed";

const TERMINATE_EVENT = "EC2 Instance-terminate Lifecycle Action";
const dropTerminates = (event: { "detail-type": string }) =>
  event["detail-type"] === TERMINATE_EVENT ? { drop: true } : undefined;

test("repairs lost events, a node that never boots and a reused IP", async (t) => {
  const sim = await startSimulator(t, {
    size: 3,
    maxSize: 6,
    learnerReadyTimeoutSeconds: 10,
    terminateHeartbeatTimeoutMs: 15_000,
  });
  await sim.waitConverged(120_000);
  await sim.writeKeys("bootstrap", 10);
  const provoked: Array<{ instanceId: string; hookName: string; result: "CONTINUE" }> = [];

  await t.test(
    "a reused IP: the stale member holding the peer URL is removed before the new node joins",
    async () => {
      // The terminate event is lost and nothing repairs it, so the hook times out (CONTINUE) and the
      // instance goes with its member still in etcd; its address is then handed to the next launch.
      // First, while the addresses are still contiguous: the lowest address goes, so it is the
      // lowest free one the next launch gets (the pool hands out the lowest first).
      const byIp = (ip: string) => Number(ip.split(".")[3]);
      const oldest = sim.instances("InService").sort((a, b) => byIp(a.privateIp) - byIp(b.privateIp))[0];
      assert.ok(oldest);
      sim.pauseReconciler(true);
      // Pausing stops future passes; one already running would repair the loss: let it finish
      // (the reconciler runs one invocation at a time, so this queues behind it).
      await sim.reconcile();
      sim.events.injectFaults(dropTerminates);
      try {
        sim.note(`scale in: terminate ${oldest.id} (${oldest.privateIp}) with its terminate event lost`);
        // The group's MinSize is the cluster size: an operator lowers it for this maintenance scale-in.
        sim.group.update({ minSize: 2 });
        sim.group.terminateInstance(oldest.id, true);
        await sim.waitFor(
          "the scaled-in instance to go",
          () => !sim.instances().some((i) => i.id === oldest.id),
          60_000,
        );
        provoked.push({ instanceId: oldest.id, hookName: sim.hookName("terminate"), result: "CONTINUE" });
        assert.ok(
          (await sim.members()).some((m) => m.name === oldest.id),
          "the stale member is still listed",
        );
        sim.events.injectFaults(undefined);
        sim.group.update({ minSize: 3, desiredCapacity: 3 });
        await sim.waitFor("a launch on the reused IP", () =>
          sim.instances().some((i) => i.privateIp === oldest.privateIp && i.id !== oldest.id),
        );
      } finally {
        sim.events.injectFaults(undefined);
        sim.pauseReconciler(false);
      }
      await assertEndState(sim, provoked);
      assert.ok(!(await sim.members()).some((m) => m.name === oldest.id));
    },
  );

  await t.test(
    "a lost terminate event: the reconciler removes the member and completes the action",
    async () => {
      await sim.setClusterSize(5);
      await sim.waitConverged(120_000);
      sim.events.injectFaults(dropTerminates);
      await sim.setClusterSize(3);
      const leaving = sim.instances("Terminating:Wait");
      assert.equal(leaving.length, 2, "the scale-in holds two instances in Terminating:Wait");
      await sim.waitConverged(120_000);
      sim.events.injectFaults(undefined);
      for (const instance of leaving) {
        assert.ok(
          sim.events.records.some(
            (r) =>
              r.outcome === "dropped" &&
              r.event["detail-type"] === TERMINATE_EVENT &&
              r.event.detail.EC2InstanceId === instance.id,
          ),
          `the terminate event of ${instance.id} was dropped`,
        );
        const action = sim.group
          .finishedLifecycleActions()
          .find((a) => a.instanceId === instance.id && a.hookName === sim.hookName("terminate"));
        assert.equal(action?.by, "api", "the reconciler completed the action, not its timeout");
      }
      await assertEndState(sim, provoked);
    },
  );

  await t.test("a node that never boots: learner removed, launch ABANDONed, instance replaced", async () => {
    sim.skipBoots(1);
    const [victim] = sim.instances("InService");
    assert.ok(victim);
    const before = new Set(sim.instances().map((i) => i.id));
    const watch = watchMembers(sim, 250);
    sim.group.markUnhealthy(victim.id);
    await sim.waitFor("the replacement to launch", () => sim.instances().some((i) => !before.has(i.id)));
    const neverBoots = sim.instances().find((i) => !before.has(i.id));
    assert.ok(neverBoots);
    await sim.waitFor(
      "the instance that never booted to be abandoned",
      () => !sim.instances().some((i) => i.id === neverBoots.id),
      90_000,
    );
    const lists = await watch.stop();
    const learner = lists
      .flat()
      .find((m) => m.isLearner && m.peerUrls.some((url) => url.includes(`//${neverBoots.privateIp}:`)));
    assert.ok(learner, `a learner was added for ${neverBoots.id} (${neverBoots.privateIp})`);
    const launch = sim.group
      .finishedLifecycleActions()
      .find((a) => a.instanceId === neverBoots.id && a.hookName === sim.hookName("launch"));
    assert.deepEqual(
      { result: launch?.result, by: launch?.by },
      { result: "ABANDON", by: "api" },
      "the control plane abandoned the launch",
    );
    await assertEndState(sim, provoked);
    assert.ok(!(await sim.members()).some((m) => m.id === learner.id), "the learner was removed");
  });
});
