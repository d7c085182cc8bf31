// The node API holds a configuration request that would answer "wait" (long polling, `?wait=S`)
// until the ledger moves, then decides again: a booting node learns its configuration the moment
// the initial cluster is fixed, not one backoff step later. Real runtime, dynalite and emulator.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { awaitConfig } from "../../lambdas/node-api/await-config";
import { ControlPlaneBed, parseEnv } from "../helpers/control-plane";
import {
  answeredOnLastLaunch,
  askConfig as ask,
  eventOf,
  eventually,
  formedCluster,
  fourthWithRoom,
  newInstance,
} from "../helpers/control-plane-flows";

const askConfig = (
  bed: ControlPlaneBed,
  instanceId: string,
  wait: string,
  extra: Record<string, string> = {},
) => ask(bed, instanceId, { query: { wait, ...extra } });

/** A size-3 bed whose three instances are launching, the first two registered by their launch events. */
async function twoOfThreeRegistered(t: Parameters<typeof ControlPlaneBed.start>[0]) {
  const bed = await ControlPlaneBed.start(t, { clusterSize: 3, capacity: 3 });
  await eventually("three launch events", () => (bed.eventsFor("launch").length === 3 ? true : undefined));
  const [first, second, third] = bed.instanceIds();
  assert.ok(first && second && third);
  for (const id of [first, second]) await bed.deliver("launch", await eventOf(bed, "launch", id));
  return { bed, first, third };
}

describe("node API long polling", () => {
  test("a held request answers with the configuration as soon as the initial cluster is fixed", async (t) => {
    const { bed, first, third } = await twoOfThreeRegistered(t);
    const started = Date.now();
    const held = askConfig(bed, first, "10");
    let answered = false;
    void held.then(() => {
      answered = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(answered, false, "still held while only 2 of 3 are registered");
    const config = await answeredOnLastLaunch(bed, held, third);
    assert.equal(config.ETCD_INITIAL_CLUSTER_STATE, "new");
    assert.ok(Date.now() - started < 8_000, "answered before its 10 s wait ran out");
  });

  test("a held request registers its node and records its version once, not on each re-decision", async (t) => {
    const { bed, first, third } = await twoOfThreeRegistered(t);
    const rt = bed.invocation();
    const writes: string[] = [];
    const { ledger } = rt;
    const [register, record] = [ledger.registerNode.bind(ledger), ledger.recordNodeVersion.bind(ledger)];
    t.mock.method(ledger, "registerNode", (id: string, ip: string, now: number) => {
      if (id === first) writes.push("register");
      return register(id, ip, now);
    });
    t.mock.method(ledger, "recordNodeVersion", (id: string, version: string) => {
      if (id === first) writes.push("version");
      return record(id, version);
    });
    const held = awaitConfig(rt, first, { waitMs: 10_000, standby: false, etcdVersion: "3.4.23" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await bed.deliver("launch", await eventOf(bed, "launch", third));
    const { config } = await held;
    assert.equal(config.role, "member", config.reason);
    assert.deepEqual(writes, ["register", "version"], "written by the first decision only");
    assert.equal((await ledger.getNode(first))?.etcdVersion, "3.4.23");
  });

  test("the re-decision is made on the poll's reading that saw the ledger move, not on a read of its own", async (t) => {
    const { bed, first, third } = await twoOfThreeRegistered(t);
    const rt = bed.invocation();
    const { ledger } = rt;
    const load = ledger.loadState.bind(ledger);
    let reads = 0;
    t.mock.method(ledger, "loadState", () => {
      reads += 1;
      return load();
    });
    // The poll's wait is held until the third launch has fixed the cluster, so its next read sees it.
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const sleep = rt.sleep.bind(rt);
    t.mock.method(rt, "sleep", async (ms: number) => {
      await gate;
      return sleep(ms);
    });
    const held = awaitConfig(rt, first, { waitMs: 10_000, standby: false });
    await eventually("the first decision held", () => (reads === 1 ? true : undefined));
    await bed.deliver("launch", await eventOf(bed, "launch", third));
    const before = reads;
    release();
    const { config, cluster } = await held;
    assert.equal(config.role, "member", config.reason);
    assert.ok(cluster !== undefined);
    assert.equal(reads - before, 1, "one ledger read after the move: the poll's");
  });

  test("while another actor holds the membership lock, a held request watches the ledger for its release instead of polling the lock", async (t) => {
    const { bed, ids } = await formedCluster(t);
    const fourth = await fourthWithRoom(bed, ids);
    const rt = bed.invocation();
    const { ledger } = rt;
    const other = await ledger.acquireLock("another-actor", 60_000, Date.now());
    const acquire = ledger.acquireLock.bind(ledger);
    let attempts = 0;
    t.mock.method(ledger, "acquireLock", (holder: string, ttlMs: number, now: number) => {
      attempts += 1;
      return acquire(holder, ttlMs, now);
    });
    const held = awaitConfig(rt, fourth, { waitMs: 10_000, standby: false });
    // Held for 2 s: a lock poll capped at 250 ms would have tried about ten times by then.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const whileHeld = attempts;
    await ledger.releaseLock(other.holder, other.version);
    const { config } = await held;
    assert.equal(config.role, "learner", config.reason);
    assert.ok(
      whileHeld <= 4,
      `${whileHeld} lock attempts while another actor held it: the lock's first steps only`,
    );
  });

  test("without a wait, or when nothing moves, a wait answer comes back as 202", async (t) => {
    const { bed, first } = await twoOfThreeRegistered(t);
    const immediate = await askConfig(bed, first, "0");
    assert.equal(immediate.statusCode, 202);
    assert.match(immediate.body, /2 of 3 instances registered/);
    const started = Date.now();
    const held = await askConfig(bed, first, "1");
    assert.equal(held.statusCode, 202);
    assert.ok(Date.now() - started >= 900, "held for its wait");
  });

  test("a node standing by is held while not a member and answered as a learner once a slot frees", async (t) => {
    const { bed, ids } = await formedCluster(t);
    bed.group.setDesiredCapacity(4);
    const standby = await newInstance(bed, ids);
    await bed.deliver("launch", await eventOf(bed, "launch", standby));
    const outside = parseEnv((await askConfig(bed, standby, "0", { standby: "1" })).body);
    assert.equal(outside.ETCD_ASG_DECISION, "not-a-member", "the full, healthy cluster leaves it out");

    const held = askConfig(bed, standby, "10", { standby: "1" });
    const [leaving] = ids;
    assert.ok(leaving);
    bed.group.terminateInstance(leaving, true);
    await bed.deliver("terminate", await eventOf(bed, "terminate", leaving));
    const answer = await held;
    assert.equal(answer.statusCode, 200, answer.body);
    const config = parseEnv(answer.body);
    assert.equal(config.ETCD_ASG_DECISION, "learner", config.ETCD_ASG_REASON);
    assert.equal(config.ETCD_INITIAL_CLUSTER_STATE, "existing");
  });

  test("a wait outside 0..10 seconds is a 400 naming the value", async (t) => {
    const { bed, first } = await twoOfThreeRegistered(t);
    for (const wait of ["11", "-1", "1.5", "soon"]) {
      const answer = await askConfig(bed, first, wait);
      assert.equal(answer.statusCode, 400);
      // The body carries the message with its quotes taken out (safeValue), as the boot script shows it.
      assert.ok(answer.body.includes(`from 0 to 10; received ${wait}`), answer.body);
    }
  });
});
