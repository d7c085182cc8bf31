// Bootstrap under AWS's real event semantics: simultaneous launches, more instances than the
// cluster size, warm-pool events, and callers who are not the instance they ask about.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ControlPlaneBed } from "../helpers/control-plane";
import {
  bootNode,
  deliverLaunches,
  eventually,
  formCluster,
  publishedOrWaiting,
} from "../helpers/control-plane-flows";

describe("control plane: bootstrap", () => {
  for (const strategy of ["replace", "add"]) {
    test(`5 launches at once for a size-3 cluster: one initial set, the same flags for its 3, the other 2 left out (${strategy})`, async (t) => {
      const bed = await ControlPlaneBed.start(t, { clusterSize: 3, capacity: 5, strategy });
      await eventually("5 launch events", () => (bed.eventsFor("launch").length === 5 ? true : undefined));
      await deliverLaunches(bed);
      const ids = bed.instanceIds();
      const answers = await Promise.all(ids.map((id) => publishedOrWaiting(bed, id)));

      const members = answers.filter((a) => a.ETCD_ASG_DECISION === "member");
      assert.equal(members.length, 3, JSON.stringify(answers));
      assert.equal(new Set(members.map((a) => a.ETCD_INITIAL_CLUSTER)).size, 1);
      assert.equal(new Set(members.map((a) => a.ETCD_INITIAL_CLUSTER_TOKEN)).size, 1);
      assert.ok(members.every((a) => a.ETCD_INITIAL_CLUSTER_STATE === "new"));
      const state = await bed.runtime.ledger.loadState();
      assert.deepEqual(
        state.cluster?.initialMembers.map((m) => m.instanceId).sort(),
        members.map((a) => a.ETCD_NAME).sort(),
      );

      const formed = await formCluster(bed);
      assert.deepEqual(formed.sort(), members.map((a) => a.ETCD_NAME).sort());
      const others = ids.filter((id) => !formed.includes(id));
      for (const id of others) {
        const config = await bootNode(bed, id);
        assert.equal(config.ETCD_ASG_DECISION, "not-a-member", JSON.stringify(config));
      }
      assert.deepEqual((await bed.members()).map((m) => m.name).sort(), formed.sort());
      await eventually("every instance in service", () =>
        bed.instanceIds("InService").length === 5 ? true : undefined,
      );
      assert.equal((await bed.runtime.ledger.loadState()).cluster?.state, "running");
    });
  }

  test("a duplicated launch event registers once and publishes the same answer", async (t) => {
    const bed = await ControlPlaneBed.start(t, { clusterSize: 3, capacity: 3 });
    await eventually("launch events", () => (bed.eventsFor("launch").length === 3 ? true : undefined));
    const events = bed.eventsFor("launch");
    await Promise.all([...events, ...events].map((e) => bed.deliver("launch", e)));
    const state = await bed.runtime.ledger.loadState();
    // Concurrent duplicates may leave a gap in the numbering (a number taken, then found already
    // registered); what matters is one record and one place in the order per instance.
    assert.deepEqual(state.nodes.map((n) => n.instanceId).sort(), bed.instanceIds().sort());
    assert.equal(new Set(state.nodes.map((n) => n.registration)).size, 3);
    assert.equal(state.cluster?.initialMembers.length, 3);
  });

  test("a warm-pool launch changes nothing", async (t) => {
    const bed = await ControlPlaneBed.start(t, { clusterSize: 3, capacity: 1 });
    const [event] = await eventually(
      "a launch event",
      () => bed.eventsFor("launch").slice(0, 1)[0] && bed.eventsFor("launch"),
    );
    const warm = { ...event, detail: { ...event?.detail, Destination: "WarmPool" } };
    const handled = await bed.deliver("launch", warm);
    assert.equal(handled.status, "ignored");
    assert.deepEqual((await bed.runtime.ledger.loadState()).nodes, []);
  });

  test("a node API call about another instance is refused with 403 and changes nothing", async (t) => {
    const bed = await ControlPlaneBed.start(t, { clusterSize: 3, capacity: 2 });
    const [a, b] = bed.instanceIds();
    assert.ok(a && b);
    const answer = await bed.nodeApi("config", b, a);
    assert.equal(answer.statusCode, 403);
    assert.match(answer.body, new RegExp(`instance ${a} may not act for ${b}`));
    const ready = await bed.nodeApi("ready", b, a);
    assert.equal(ready.statusCode, 403);
    assert.deepEqual((await bed.runtime.ledger.loadState()).nodes, []);
  });
});
