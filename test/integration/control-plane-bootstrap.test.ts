// Bootstrap under AWS's real event semantics: simultaneous launches, more instances than the
// cluster size (handled per join strategy), warm-pool events, and callers who are not the instance
// they ask about.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type BedScope, ControlPlaneBed, LAUNCH_HOOK } from "../helpers/control-plane";
import {
  bootNode,
  deliverLaunches,
  eventually,
  formCluster,
  killMember,
  memberNames,
  publishedConfig,
  publishedOrWaiting,
} from "../helpers/control-plane-flows";

interface OneMemberDead {
  readonly bed: ControlPlaneBed;
  /** The initial members still running. */
  readonly survivors: readonly string[];
  /** The initial member whose etcd died. */
  readonly dead: string;
  /** A node left out of the full cluster, asking for its configuration again. */
  readonly standby: string;
}

/** The join strategies as README's "Join strategies" and elastic-etcd's README define them. */
const STRATEGIES: ReadonlyArray<{
  readonly strategy: string;
  /** Why a node beyond a full, healthy cluster is left out. */
  readonly leftOut: RegExp;
  readonly whenAMemberDies: string;
  readonly afterDeath: (scene: OneMemberDead) => Promise<void>;
}> = [
  {
    strategy: "replace",
    leftOut: /^cluster is full \(3 voters of 3\) and every member is healthy$/,
    whenAMemberDies: "a standby removes the dead member and joins in its place",
    afterDeath: joinsInPlaceOfTheDead,
  },
  {
    strategy: "prune",
    leftOut: /^cluster is full \(3 voters of 3\) and every member is healthy$/,
    whenAMemberDies: "a standby removes the dead member and joins in its place",
    afterDeath: joinsInPlaceOfTheDead,
  },
  {
    strategy: "add",
    leftOut: /^cluster is full \(3 voters of 3\); add never removes members$/,
    whenAMemberDies: "a standby stays out and the dead member stays",
    afterDeath: async ({ bed, survivors, dead, standby }) => {
      const config = await publishedConfig(bed, standby);
      assert.equal(config.ETCD_ASG_DECISION, "not-a-member", JSON.stringify(config));
      assert.match(config.ETCD_ASG_REASON ?? "", /add never removes members/);
      assert.deepEqual(await memberNames(bed), [...survivors, dead].sort());
    },
  },
  {
    strategy: "prepare",
    leftOut: /^prepare strategy: no member entry was prepared for https:\/\/127\.0\.\d+\.\d+:2380$/,
    whenAMemberDies: "a standby joins only once an operator replaces the dead member's entry with one for it",
    afterDeath: async ({ bed, survivors, dead, standby }) => {
      const unprepared = await publishedConfig(bed, standby);
      assert.equal(unprepared.ETCD_ASG_DECISION, "not-a-member", JSON.stringify(unprepared));
      assert.deepEqual(await memberNames(bed), [...survivors, dead].sort(), "nothing removed");
      // The operator's part, as elastic-etcd's prepare strategy expects it.
      const deadMember = (await bed.members()).find((m) => m.name === dead);
      assert.ok(deadMember);
      await bed.etcdctl("member", "remove", BigInt(deadMember.id).toString(16));
      const ip = bed.group.instances().find((i) => i.id === standby)?.privateIp;
      // etcd refuses an add until its (new) leader has been connected to every voter for 5 s; the operator
      // retries.
      await eventually("the prepared entry", () =>
        bed.etcdctl("member", "add", standby, `--peer-urls=http://${ip}:2380`).catch((error: Error) => {
          if (!error.message.includes("etcdserver: unhealthy cluster")) throw error;
          return undefined;
        }),
      );
      const config = await bootNode(bed, standby);
      assert.equal(config.ETCD_ASG_DECISION, "member", JSON.stringify(config));
      assert.equal(config.ETCD_INITIAL_CLUSTER_STATE, "existing");
      const members = await bed.members();
      assert.deepEqual(members.map((m) => m.name).sort(), [...survivors, standby].sort());
      assert.ok(members.every((m) => !m.isLearner));
    },
  },
];

/** A running 5-member cluster with a sixth instance standing by, then two members' etcd dead. */
async function twoOfFiveDead(t: BedScope, strategy: string) {
  const bed = await ControlPlaneBed.start(t, { clusterSize: 5, capacity: 6, strategy });
  const formed = (await formCluster(bed)).sort();
  assert.equal(formed.length, 5);
  const [standby] = bed.instanceIds().filter((id) => !formed.includes(id));
  assert.ok(standby);
  const [first, second, ...survivors] = formed as [string, string, ...string[]];
  await killMember(bed, formed, first);
  await killMember(bed, [...survivors, second], second);
  return { bed, standby, dead: [first, second] as const, survivors };
}

/** `replace` and `prune` alike, in a size-3 cluster: one dead member is all quorum allows. */
async function joinsInPlaceOfTheDead({ bed, survivors, standby }: OneMemberDead): Promise<void> {
  const config = await bootNode(bed, standby);
  assert.equal(config.ETCD_ASG_DECISION, "learner", JSON.stringify(config));
  const members = await bed.members();
  assert.deepEqual(members.map((m) => m.name).sort(), [...survivors, standby].sort());
  assert.ok(members.every((m) => !m.isLearner));
}

describe("control plane: bootstrap", () => {
  for (const { strategy, leftOut, whenAMemberDies, afterDeath } of STRATEGIES) {
    test(`5 launches at once for a size-3 cluster: one initial set, the same flags for its 3, the other 2 left out; when a member dies ${whenAMemberDies} (${strategy})`, async (t) => {
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
        assert.match(config.ETCD_ASG_REASON ?? "", leftOut);
      }
      assert.deepEqual((await bed.members()).map((m) => m.name).sort(), formed.sort());
      await eventually("every instance in service", () =>
        bed.instanceIds("InService").length === 5 ? true : undefined,
      );
      assert.equal((await bed.runtime.ledger.loadState()).cluster?.state, "running");

      const [dead, ...survivors] = formed;
      const [standby] = others;
      assert.ok(dead && standby);
      await killMember(bed, formed, dead);
      await afterDeath({ bed, survivors: survivors.sort(), dead, standby });
    });
  }

  test("two of five members dead under prune: a standby removes both, one change at a time, then joins", async (t) => {
    const { bed, standby, survivors } = await twoOfFiveDead(t, "prune");
    const config = await bootNode(bed, standby);
    assert.equal(config.ETCD_ASG_DECISION, "learner", JSON.stringify(config));
    assert.deepEqual(await memberNames(bed), [...survivors, standby].sort());
  });

  test("two of five members dead under replace: a standby stands by instead of waiting forever on an add etcd refuses while a dead voter remains", async (t) => {
    const { bed, standby, dead, survivors } = await twoOfFiveDead(t, "replace");
    const config = await publishedConfig(bed, standby);
    assert.equal(config.ETCD_ASG_DECISION, "not-a-member", JSON.stringify(config));
    assert.match(config.ETCD_ASG_REASON ?? "", new RegExp(`voter ${dead[1]} .*does not answer`));
    // The full cluster let it replace one dead member; the other is left for its instance to go.
    assert.deepEqual(await memberNames(bed), [...survivors, dead[1]].sort());
    assert.equal((await bed.runtime.ledger.getNode(standby))?.phase, "not-a-member");
    assert.deepEqual(bed.endedActions(standby), [{ hookName: LAUNCH_HOOK, result: "CONTINUE", by: "api" }]);
  });

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
