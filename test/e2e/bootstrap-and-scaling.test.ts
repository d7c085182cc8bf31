// End to end on the simulator: a 3-node cluster bootstraps from simultaneous launches; a deploy of
// clusterSize 5 grows the group 3→5 in one capacity change (the group's MinSize and MaxSize follow the
// cluster size), which the control plane itself serialises (one learner at a time, 3→4→5 members);
// a deploy of clusterSize 3 shrinks it back in one step. Each joining node gets its certificates with
// its configuration: two node-API round trips (config, ready), no certificates request. Each launch
// also sends the node API the launch rule's warm-up input, which it handles without an error.
import assert from "node:assert/strict";
import { test } from "node:test";
import { nodeApiCaller, nodeApiPath } from "../../bench/critical-path";
import { isWarmUp } from "../../lambdas/events/warm-up-event";
import { assertEndState, startSimulator, watchMembers } from "./simulator-bed";

test("bootstraps 3, scales out 3→5 in one change with one learner at a time, and in 5→3, keeping every key", async (t) => {
  const sim = await startSimulator(t, { size: 3 });

  await sim.waitConverged(120_000);
  assert.equal(sim.instances("InService").length, 3);
  await sim.writeKeys("bootstrap", 10);

  const initial = sim.instances().map((i) => i.id);
  const requests: Array<readonly [string, string]> = [];
  const warmUps: Array<string | undefined> = [];
  /** The function URL's front time of each request through it; of every other invocation. */
  const fronts: { url: Array<number | undefined>; other: Array<number | undefined> } = { url: [], other: [] };
  const stopRecording = sim.onInvocation((record) => {
    if (record.fn === "node-api" && isWarmUp(record.event)) warmUps.push(record.error);
    const caller = nodeApiCaller(record);
    if (caller !== undefined) requests.push([caller, nodeApiPath(record).split("/").at(-1) ?? ""]);
    (caller === undefined ? fronts.other : fronts.url).push(record.frontMs);
  });
  const watch = watchMembers(sim, 100);
  await sim.setClusterSize(5);
  assert.equal(sim.group.desiredCapacity, 5, "the group follows the cluster size");
  await sim.waitConverged(120_000);
  const lists = await watch.stop();
  stopRecording();
  const joined = sim.instances("InService").filter((i) => !initial.includes(i.id));
  assert.equal(joined.length, 2);
  // Its ready report's invocation may still be running when the group converged (a reconcile pass
  // can complete the launch first): the config request is recorded, a certificates request never.
  for (const { id } of joined) {
    const routes = new Set(requests.filter(([caller]) => caller === id).map(([, route]) => route));
    assert.ok(routes.has("config"), `${id} made no config request: ${[...routes].join(", ")}`);
    assert.ok(
      [...routes].every((route) => route === "config" || route === "ready"),
      `${id}: its certificates came with its configuration, yet it asked for ${[...routes].join(", ")}`,
    );
  }
  assert.deepEqual(warmUps, [undefined, undefined], "one warm-up per launch, each without an error");
  assert.ok(
    fronts.url.length > 0 && fronts.url.every((ms) => ms !== undefined && ms >= 0),
    `every node-API request is timed at the function URL's front: ${fronts.url.join(", ")}`,
  );
  assert.ok(
    fronts.other.every((ms) => ms === undefined),
    "an invocation another way has no front time",
  );
  const learners = Math.max(...lists.map((members) => members.filter((m) => m.isLearner).length));
  assert.ok(learners <= 1, `at most one learner at any time, saw ${learners}`);
  const counts = lists.map((members) => members.length).filter((n, i, all) => n !== all[i - 1]);
  assert.deepEqual(counts, [3, 4, 5], "members went 3→4→5, one added at a time");
  await sim.writeKeys("at-5", 5);

  await sim.setClusterSize(3);
  await sim.waitConverged(120_000);
  assert.equal((await sim.members()).length, 3);
  await assertEndState(sim);
});
