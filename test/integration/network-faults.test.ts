// Real network faults (chaos/network) on a real 3-member etcd 3.4 cluster whose members run under their
// own UIDs: each test shows that the fault happened, in etcd's own behaviour or in traffic measured in
// both directions, heals it, and checks that nothing of the controller is left on the machine. Needs
// root and nftables (delays also iptables and python3); skipped with the reason otherwise.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { readFileSync, statSync } from "node:fs";
import { connect } from "node:net";
import { describe, type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { delayUnavailableReason, NetworkFaults } from "../../chaos/network/controller";
import {
  controlPlaneIdentity,
  type NetworkIdentity,
  type NodeIdentity,
  nodeIdentity,
  uidForAddress,
} from "../../chaos/network/identity";
import { findLeftovers, sweepLeftovers } from "../../chaos/network/leftovers";
import { type EtcdTestCluster, startEtcdCluster, type TestMember } from "../helpers/etcd/cluster";

const unavailable = NetworkFaults.unavailableReason();
const REPO = `${__dirname}/../..`;

interface Bed {
  readonly cluster: EtcdTestCluster;
  readonly faults: NetworkFaults;
  readonly members: readonly TestMember[];
  readonly identity: (member: TestMember) => NodeIdentity;
}

function identityOf(member: TestMember): NodeIdentity {
  const port = (url: string) => Number(new URL(url).port);
  return nodeIdentity(member.name, member.ip, port(member.clientUrl), port(member.peerUrl));
}

/** A controller, then a cluster whose members run under their own UIDs and are registered with it
 * before they start; after the test, the controller stops and must have left nothing behind. */
async function startBed(t: TestContext): Promise<Bed> {
  const faults = await NetworkFaults.start();
  t.after(async () => {
    await faults.stop();
    assert.deepEqual(
      faults.leftovers(),
      [],
      "no table, queue rule, reader or lock of the controller is left",
    );
    const machine = findLeftovers().filter((l) => l.kind === "qdisc" || l.kind === "netns");
    assert.deepEqual(machine, [], "no qdisc on lo and no network namespace is left");
  });
  const cluster = await startEtcdCluster(t, {
    size: 3,
    memberUid: uidForAddress,
    beforeLaunch: (member) => faults.register(identityOf(member)),
  });
  return { cluster, faults, members: cluster.members, identity: identityOf };
}

interface Status {
  /** Hex, as etcd's logs print member IDs. */
  readonly memberId: string;
  /** "0" while the member knows no leader. */
  readonly leaderId: string;
}

const hex = (decimal: string) => BigInt(decimal).toString(16);
const b64 = (text: string) => Buffer.from(text).toString("base64");

async function status(member: TestMember, timeoutMs = 500): Promise<Status | undefined> {
  try {
    const response = await fetch(`${member.clientUrl}/v3/maintenance/status`, {
      method: "POST",
      body: "{}",
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await response.json()) as { header: { member_id: string }; leader: string };
    return { memberId: hex(body.header.member_id), leaderId: hex(body.leader ?? "0") };
  } catch {
    return undefined;
  }
}

/** A linearizable put through `member`; rejects when it is not committed within `timeoutMs`. */
async function put(member: TestMember, key: string, value: string, timeoutMs = 1500): Promise<void> {
  const response = await fetch(`${member.clientUrl}/v3/kv/put`, {
    method: "POST",
    body: JSON.stringify({ key: b64(key), value: b64(value) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok)
    throw new Error(`put via ${member.name}: HTTP ${response.status} ${await response.text()}`);
}

/** What `member` itself holds for `key` (serializable read: no leader asked). */
async function localValue(member: TestMember, key: string): Promise<string | undefined> {
  const response = await fetch(`${member.clientUrl}/v3/kv/range`, {
    method: "POST",
    body: JSON.stringify({ key: b64(key), serializable: true }),
    signal: AbortSignal.timeout(1000),
  });
  const body = (await response.json()) as { kvs?: { value: string }[] };
  const value = body.kvs?.[0]?.value;
  return value === undefined ? undefined : Buffer.from(value, "base64").toString();
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(100);
  }
}

/** Resolves once a put through `member` commits (after a heal, once it has a leader again). */
function servesWrites(member: TestMember, key: string): Promise<boolean> {
  return waitFor(`${member.name} serves writes`, () =>
    put(member, key, "yes", 3000).then(
      () => true,
      () => undefined,
    ),
  );
}

/** The leader `members` all name, once they agree on one of themselves (a side of a partition goes on
 * naming the old leader across it until its election timeout). */
function agreedLeader(members: readonly TestMember[]): Promise<TestMember> {
  return waitFor(`${members.map((m) => m.name).join(", ")} agree on a leader among themselves`, async () => {
    const statuses = await Promise.all(members.map((member) => status(member)));
    const leader = statuses[0]?.leaderId;
    if (leader === undefined || statuses.some((s) => s?.leaderId !== leader)) return undefined;
    return members[statuses.findIndex((s) => s?.memberId === leader)];
  });
}

/** A log reader that sees only what `member` logged after it was made. */
function logFrom(member: TestMember): () => string {
  const offset = statSync(member.logFile).size;
  return () => readFileSync(member.logFile).subarray(offset).toString();
}

/** Runs `script` with bash under `identity`'s UID; resolves with its exit code and stdout. */
function bashAs(identity: NetworkIdentity, script: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", script], { uid: identity.uid, gid: identity.uid, cwd: "/" });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, stdout }));
  });
}

/** Sends `count` datagrams from a process under `from`'s UID to `to`'s address, on the UDP port of the
 * same number as its peer port (free, since etcd's is TCP, and inside the rules' port match); returns
 * how many arrived. */
async function datagramsArriving(from: NetworkIdentity, to: NodeIdentity, count: number): Promise<number> {
  const socket = createSocket("udp4");
  let received = 0;
  socket.on("message", () => {
    received += 1;
  });
  await new Promise<void>((resolve) => socket.bind(to.peerPort, to.ip, resolve));
  try {
    const sent = await bashAs(
      from,
      `for i in $(seq ${count}); do echo x >/dev/udp/${to.ip}/${to.peerPort}; done`,
    );
    assert.equal(sent.code, 0, `the sender under uid ${from.uid} ran`);
    await sleep(200);
    return received;
  } finally {
    socket.close();
  }
}

/** Median of `n` TCP connect times (ms) from this process: one round trip, SYN out and SYN-ACK back. */
async function connectMs(ip: string, port: number, n = 9): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const socket = connect({ host: ip, port }, () => {
        socket.destroy();
        resolve();
      });
      socket.once("error", reject);
    });
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

const median = (sorted: readonly number[]) => sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;

/** Median one-way latency (ms) of datagrams from a process under `from`'s UID to `to`'s address: each
 * carries its send time, and sender and receiver share this machine's clock. */
async function oneWayMs(from: NetworkIdentity, to: NodeIdentity, count = 5): Promise<number> {
  const socket = createSocket("udp4");
  const latencies: number[] = [];
  socket.on("message", (message) => {
    latencies.push(Date.now() - Number(message.toString().trim()) / 1e6);
  });
  await new Promise<void>((resolve) => socket.bind(to.peerPort, to.ip, resolve));
  try {
    await bashAs(
      from,
      `for i in $(seq ${count}); do date +%s%N >/dev/udp/${to.ip}/${to.peerPort}; sleep 0.02; done`,
    );
    await sleep(300);
  } finally {
    socket.close();
  }
  assert.equal(latencies.length, count, "every datagram arrived");
  return median(latencies.sort((a, b) => a - b));
}

describe("network faults on a real etcd cluster", { skip: unavailable, concurrency: false }, () => {
  test("isolating a follower: its peers log lost connections, it loses its leader, the others serve", async (t) => {
    const { faults, members, identity } = await startBed(t);
    const leader = await agreedLeader(members);
    const follower = members.find((m) => m !== leader);
    assert.ok(follower);
    const others = members.filter((m) => m !== follower);
    const followerId = (await status(follower))?.memberId;
    const othersLogs = others.map(logFrom);
    const followerLog = logFrom(follower);

    const isolated = Date.now();
    const fault = await faults.isolate(identity(follower));

    await waitFor("both peers log the lost connection to the isolated member", async () =>
      othersLogs.every((log) =>
        log()
          .split("\n")
          .some((line) => line.includes("lost TCP streaming connection") && line.includes(`"${followerId}"`)),
      )
        ? true
        : undefined,
    );
    t.diagnostic(`peers logged the lost connection ${Date.now() - isolated} ms after the isolation`);
    assert.match(followerLog(), /is starting a new election/, "the isolated member lost its leader");
    assert.equal(await status(follower), undefined, "its client port answers nobody");
    await put(leader, "isolated-follower", "served");
    assert.ok((await faults.counters(fault)).packets > 0, "the fault dropped packets");

    await faults.heal(fault);
    await agreedLeader(members);
    await servesWrites(follower, "healed");
  });

  test("isolating the leader: it steps down and the others elect a new leader among themselves", async (t) => {
    const { faults, members, identity } = await startBed(t);
    const leader = await agreedLeader(members);
    const others = members.filter((m) => m !== leader);
    const leaderLog = logFrom(leader);

    const isolated = Date.now();
    const fault = await faults.isolate(identity(leader));

    const successor = await agreedLeader(others);
    t.diagnostic(`the others agreed on a new leader ${Date.now() - isolated} ms after the isolation`);
    assert.notEqual(successor, leader);
    assert.ok(others.includes(successor));
    await waitFor("the isolated leader steps down", async () =>
      /stepped down to follower since quorum is not active/.test(leaderLog()) ? true : undefined,
    );
    await put(successor, "new-leader", "serves");

    await faults.heal(fault);
    await agreedLeader(members);
    await servesWrites(leader, "rejoined");
  });

  test("a 2|1 split: the minority cannot write, the majority can, and heals to one history", async (t) => {
    const { faults, members, identity } = await startBed(t);
    // The leader alone on the minority side: the harder case, it must lose the ability to commit.
    const minority = await agreedLeader(members);
    const majority = members.filter((m) => m !== minority);

    const fault = await faults.partition(majority.map(identity), [identity(minority)]);

    const majorityLeader = await agreedLeader(majority);
    await put(majorityLeader, "split", "majority");
    await assert.rejects(
      put(minority, "split", "minority", 2000),
      "a linearizable put on the minority times out",
    );
    assert.equal(
      await localValue(minority, "split"),
      undefined,
      "the minority never saw the majority's write",
    );

    await faults.heal(fault);
    await agreedLeader(members);
    await waitFor("the healed minority catches up", async () =>
      (await localValue(minority, "split")) === "majority" ? true : undefined,
    );
    await servesWrites(minority, "after-split");
  });

  test("dropping half of one member's packets to another loses them in that direction only", async (t) => {
    const { faults, members, identity } = await startBed(t);
    // From the leader, whose heartbeats to each follower go out every 50 ms.
    const leader = await agreedLeader(members);
    const a = identity(leader);
    const b = identity(members.find((m) => m !== leader) as TestMember);

    const fault = await faults.dropOneWay(a, b, 0.5);

    await waitFor("etcd's own packets from a to b are dropped", async () =>
      (await faults.counters(fault)).packets > 0 ? true : undefined,
    );
    const forward = await datagramsArriving(a, b, 200);
    const backward = await datagramsArriving(b, a, 200);
    t.diagnostic(`datagrams arrived: a -> b ${forward}/200, b -> a ${backward}/200`);
    assert.ok(forward >= 50 && forward <= 150, `about half of a -> b arrived: ${forward}/200`);
    assert.equal(backward, 200, "b -> a lost nothing");

    await faults.heal(fault);
    assert.equal(await datagramsArriving(a, b, 200), 200, "healed: a -> b loses nothing");
  });

  test("delaying a member's packets by 100 ms raises round trips through it by 100 ms, and only through it", {
    skip: delayUnavailableReason(),
  }, async (t) => {
    const { faults, members, identity } = await startBed(t);
    const leader = await agreedLeader(members);
    const [slow, fast] = members.map(identity);
    const follower = members.find((m) => m !== leader);
    assert.ok(slow && fast && follower);
    const before = median(await connectMs(slow.ip, slow.clientPort));
    let started = performance.now();
    await put(follower, "latency", "before");
    const putBefore = performance.now() - started;

    const fault = await faults.delay(slow, 100);

    const during = median(await connectMs(slow.ip, slow.clientPort));
    t.diagnostic(
      `TCP connect to the delayed member: ${before.toFixed(2)} -> ${during.toFixed(2)} ms (median of 9)`,
    );
    assert.ok(
      during >= before + 95 && during <= before + 150,
      `connect ${before.toFixed(2)} -> ${during.toFixed(2)} ms`,
    );
    assert.ok(median(await connectMs(fast.ip, fast.clientPort)) < 20, "another member is not slowed");
    // Through etcd: the leader's appends and commits now travel 100 ms longer, whoever is slow.
    await faults.heal(fault);
    const leaderFault = await faults.delay(identity(leader), 100);
    started = performance.now();
    await put(follower, "latency", "during", 5000);
    const putDuring = performance.now() - started;
    t.diagnostic(`put via a follower, leader delayed: ${putBefore.toFixed(0)} -> ${putDuring.toFixed(0)} ms`);
    assert.ok(
      putDuring >= putBefore + 100,
      `put via a follower ${putBefore.toFixed(0)} -> ${putDuring.toFixed(0)} ms`,
    );
    await faults.heal(leaderFault);

    // One way between two members: a -> b slowed, b -> a and a -> c not. (A round trip between a and b
    // crosses a -> b once whoever starts it, so only one-way times show the direction.)
    const c = identity(members[2] as TestMember);
    const pair = await faults.delay({ from: slow, to: fast }, 100, 10);
    const ab = await oneWayMs(slow, fast);
    const ba = await oneWayMs(fast, slow);
    const ac = await oneWayMs(slow, c);
    t.diagnostic(
      `one way with a -> b delayed 100±10 ms: a -> b ${ab.toFixed(1)} ms, b -> a ${ba.toFixed(1)} ms, a -> c ${ac.toFixed(1)} ms`,
    );
    assert.ok(ab >= 85 && ab <= 150, `a -> b takes ${ab} ms`);
    assert.ok(ba < 30 && ac < 30, `b -> a ${ba} ms and a -> c ${ac} ms untouched`);
    await faults.heal(pair);

    assert.ok(median(await connectMs(slow.ip, slow.clientPort)) < 20, "healed: no delay");
  });

  test("a delay whose queue reader died is reported as not applied", {
    skip: delayUnavailableReason(),
  }, async (t) => {
    const faults = await NetworkFaults.start();
    t.after(() => faults.stop());
    const node = nodeIdentity("a", "127.0.1.21");
    await faults.register(node);
    const fault = await faults.delay(node, 50);
    const reader = faults.leftovers().find((l) => l.kind === "queue-reader");
    assert.ok(reader);
    process.kill(Number(reader.name), "SIGKILL");
    await sleep(200);
    await assert.rejects(
      faults.counters(fault),
      /delay \d+ is not applied: the queue reader exited with SIGKILL/,
    );
  });

  test("cutting the control plane off a member: a Lambda-identity client cannot reach it, its peers still replicate to it", async (t) => {
    const { faults, members, identity } = await startBed(t);
    const [reachable, cut] = members.map(identity);
    assert.ok(reachable && cut);
    const controlPlane = controlPlaneIdentity(cut.ip.split(".").slice(0, 3).join("."));
    await faults.register(controlPlane);
    const health = (node: NodeIdentity) =>
      bashAs(controlPlane, `curl -s -m 1 http://${node.ip}:${node.clientPort}/health`);

    const fault = await faults.cutFromControlPlane(cut, controlPlane);

    assert.equal((await health(cut)).code, 28, "the control plane's request to the cut member times out");
    assert.match((await health(reachable)).stdout, /"health":"true"/, "the control plane reaches the others");
    const leader = await agreedLeader(members);
    await put(leader, "cut", "replicated");
    const cutMember = members.find((m) => m.name === cut.name) as TestMember;
    await waitFor("the cut member still receives the leader's appends", async () =>
      (await localValue(cutMember, "cut")) === "replicated" ? true : undefined,
    );
    assert.ok((await faults.counters(fault)).packets > 0, "the control plane's packets were dropped");

    await faults.heal(fault);
    assert.match((await health(cut)).stdout, /"health":"true"/, "healed: the control plane reaches it");
  });

  test("healAll lifts every fault at once", async (t) => {
    const { faults, members, identity } = await startBed(t);
    const [a, b, c] = members.map(identity);
    assert.ok(a && b && c);
    await faults.partition([a], [b, c]);
    await faults.dropOneWay(b, c, 1);
    assert.equal(faults.active().length, 2);

    await faults.healAll();

    assert.deepEqual(faults.active(), []);
    const leader = await agreedLeader(members);
    assert.equal(await datagramsArriving(b, c, 50), 50);
    for (const member of members) {
      await servesWrites(member, `all-${member.name}`);
    }
    assert.ok(leader);
  });
});

/** Delays add a queue reader and an iptables rule to what must be cleaned up, where they can run. */
const withDelay = delayUnavailableReason() === undefined;

/** Runs a child node process (with tsx) that arms faults and prints "armed", then does `ending`. */
function armedChild(ending: "exit" | "wait"): Promise<{ pid: number; exited: Promise<unknown> }> {
  const code = `
    const { NetworkFaults } = require(${JSON.stringify(`${REPO}/chaos/network/controller.ts`)});
    const { nodeIdentity } = require(${JSON.stringify(`${REPO}/chaos/network/identity.ts`)});
    (async () => {
      const faults = await NetworkFaults.start();
      const a = nodeIdentity("a", "127.0.1.11");
      const b = nodeIdentity("b", "127.0.1.12");
      await faults.register(a, b);
      await faults.isolate(a);
      await faults.dropOneWay(b, a, 0.5);
      if (${withDelay}) await faults.delay(b, 10);
      console.log("armed");
      if (${JSON.stringify(ending)} === "exit") process.exit(0);
      setInterval(() => undefined, 1000);
    })();`;
  const child = spawn(process.execPath, ["--import", "tsx", "-e", code], {
    cwd: REPO,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return new Promise((resolve, reject) => {
    child.stdout.once("data", (chunk: Buffer) => {
      if (!chunk.toString().includes("armed") || child.pid === undefined)
        return reject(new Error(chunk.toString()));
      resolve({ pid: child.pid, exited });
    });
    child.once("exit", (status) => reject(new Error(`child exited (${status}) before arming`)));
  });
}

const ownedBy = (pid: number) => findLeftovers().filter((l) => l.owner?.startsWith(`${pid}_`));

describe("network faults leave nothing behind", { skip: unavailable, concurrency: false }, () => {
  test("a process that exits without stopping removes its rules in its exit hook", async () => {
    const child = await armedChild("exit");
    await child.exited;
    assert.deepEqual(ownedBy(child.pid), []);
  });

  test("a process killed by SIGTERM removes its rules and still dies of the signal", async () => {
    const child = await armedChild("wait");
    assert.ok(
      ownedBy(child.pid).some((l) => l.kind === "nft-table"),
      "armed: its table exists",
    );
    process.kill(child.pid, "SIGTERM");
    assert.deepEqual(await child.exited, null, "exit code null: killed by the signal");
    assert.deepEqual(ownedBy(child.pid), []);
  });

  test("the sweeper removes what a SIGKILLed process left, and keeps what live processes own", async () => {
    const child = await armedChild("wait");
    process.kill(child.pid, "SIGKILL");
    await child.exited;
    const left = ownedBy(child.pid);
    assert.ok(
      left.some((l) => l.kind === "nft-table") && left.every((l) => !l.ownerAlive),
      "a dead owner's table",
    );
    if (withDelay) assert.ok(left.some((l) => l.kind === "queue-reader" || l.kind === "iptables-rule"));
    const live = await NetworkFaults.start();
    try {
      // start() swept already; a second sweep finds nothing of the dead child and spares the live controller.
      assert.deepEqual(ownedBy(child.pid), []);
      await sweepLeftovers();
      assert.ok(
        live.leftovers().some((l) => l.kind === "nft-table"),
        "the live controller's table is kept",
      );
    } finally {
      await live.stop();
    }
  });
});
