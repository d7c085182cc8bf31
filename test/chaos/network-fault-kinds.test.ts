// Each network fault kind of the chaos runner, armed on a 3-node simulator (real etcd 3.4 with mutual
// TLS, the Lambdas in workers under the control plane's UID) by the same code the runner uses, really
// happens: the isolated member's peers log the lost connection, the isolated leader is replaced, the
// minority of a split serves no linearizable read while the majority takes writes, a node whose
// packets to its peers are lost is seen gone by them, a delayed node answers late, and the control
// plane's packets to a cut node are dropped while the test process still reaches it. After each heal
// the cluster is whole again, and stopping the faults leaves no rule behind. Needs root and nftables
// (latency also iptables and python3); skipped with the reason otherwise.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { leaderInstance } from "../../chaos/leader";
import { delayUnavailableReason, NetworkFaults, unavailableReason } from "../../chaos/network/controller";
import {
  armNetworkFault,
  matchedPackets,
  type NetworkFaultKind,
  type NetworkFaultPlan,
  nodeIdentities,
} from "../../chaos/network-episodes";
import { etcdClient, getKey, putKey } from "../../local/simulator/etcd-client";
import { Simulator } from "../../local/simulator/simulator";

const PLAN: NetworkFaultPlan = { target: 0, forMs: 0, lossProbability: 1, delayMs: 400 };

let net: NetworkFaults;
let sim: Simulator;

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The etcd member ID (hex, as etcd logs it) of each instance. */
async function memberIds(): Promise<Map<string, string>> {
  return new Map((await sim.members()).map((m) => [m.name, BigInt(m.id).toString(16)]));
}

/** What `instanceId`'s etcd logs from now on. */
function logFrom(instanceId: string): () => string {
  const path = sim.node(instanceId).etcdLog;
  const start = readFileSync(path).length;
  return () => readFileSync(path).subarray(start).toString();
}

/** Arms `kind` on node `target`, runs `evidence` while it is on, heals it and waits for the cluster. */
async function withFault(
  kind: NetworkFaultKind,
  evidence: (ids: number[]) => Promise<void>,
  plan: NetworkFaultPlan = PLAN,
): Promise<void> {
  await sim.waitConverged(60_000);
  const before = (await sim.members()).map((m) => m.id).sort();
  const ids = await armNetworkFault(net, sim, kind, plan);
  try {
    await evidence(ids);
    assert.ok((await matchedPackets(net, ids)) > 0, `${kind} matched no packet`);
  } finally {
    for (const id of ids) await net.heal(id);
  }
  await sim.waitConverged(60_000);
  assert.deepEqual((await sim.members()).map((m) => m.id).sort(), before, "the members changed");
}

function peersLogLostConnection(logs: (() => string)[], memberId: string): Promise<void> {
  return waitFor(`peers to log the lost connection to ${memberId}`, async () =>
    logs.every((log) =>
      log()
        .split("\n")
        // etcd 3.4's capnslog says "lost the TCP streaming connection with peer <id>", zap "lost TCP
        // streaming connection" with "remote-peer-id":"<id>".
        .some((line) => /lost (the )?TCP streaming connection/.test(line) && line.includes(memberId)),
    ),
  );
}

/** Arms `kind` on the oldest node (the plan's target 0) and waits for every peer to log losing it. */
async function peersLoseTheFirstNode(kind: NetworkFaultKind): Promise<void> {
  const [target, ...peers] = nodeIdentities(sim);
  assert.ok(target);
  const id = (await memberIds()).get(target.name) ?? "";
  const logs = peers.map((peer) => logFrom(peer.name));
  await withFault(kind, () => peersLogLostConnection(logs, id));
}

describe("chaos network fault kinds on a simulator", {
  skip: unavailableReason(),
  concurrency: false,
}, () => {
  before(async () => {
    net = await NetworkFaults.start();
    sim = await Simulator.start({ size: 3, registerIdentity: (identity) => net.register(identity) });
    await sim.waitConverged(120_000);
  });

  after(async () => {
    await sim?.stop();
    await net?.stop();
    assert.deepEqual(net?.leftovers() ?? [], [], "rules, queues or readers left behind");
  });

  test("partition-one: the isolated member's peers log the lost connection", () =>
    peersLoseTheFirstNode("partition-one"));

  test("partition-leader: the others elect a new leader", async () => {
    const old = await leaderInstance(sim);
    await withFault("partition-leader", async () => {
      const others = nodeIdentities(sim).filter((n) => n.name !== old);
      await waitFor("a new leader among the others", async () => {
        const client = etcdClient(sim.node(others[0]?.name ?? "").clientUrl, await sim.etcdTls());
        try {
          const status = await client.maintenance.status({ deadline: new Date(Date.now() + 1000) });
          const leader = (await sim.members()).find((m) => m.id === status.leader)?.name;
          return leader !== undefined && leader !== old;
        } finally {
          client.close();
        }
      });
    });
  });

  test("partition-split: the minority serves no linearizable read, the majority takes writes", async () => {
    const [minority, ...majority] = nodeIdentities(sim);
    assert.ok(minority);
    const tls = await sim.etcdTls();
    await withFault("partition-split", async () => {
      await sleep(3000);
      await putKey(
        majority.map((n) => sim.node(n.name).clientUrl),
        tls,
        "split",
        "majority",
      );
      await assert.rejects(getKey([sim.node(minority.name).clientUrl], tls, "split"));
    });
  });

  test("partition-asymmetric: the peers see the node whose packets to them are lost as gone", () =>
    peersLoseTheFirstNode("partition-asymmetric"));

  test("latency: the delayed node answers at least the delay later", {
    skip: delayUnavailableReason(),
  }, async () => {
    const [target] = nodeIdentities(sim);
    assert.ok(target);
    const tls = await sim.etcdTls();
    const url = sim.node(target.name).clientUrl;
    const timed = async () => {
      const client = etcdClient(url, tls);
      try {
        await client.maintenance.status({ deadline: new Date(Date.now() + 5000) }); // connected
        const started = Date.now();
        await client.maintenance.status({ deadline: new Date(Date.now() + 5000) });
        return Date.now() - started;
      } finally {
        client.close();
      }
    };
    const baseline = await timed();
    await withFault("latency", async () => {
      const delayed = await timed();
      assert.ok(delayed >= PLAN.delayMs * 0.9, `a status took ${delayed} ms (${baseline} ms undelayed)`);
    });
  });

  test("partition-control-plane: the Lambdas' packets to the node are dropped, the test still reaches it", async () => {
    const [target] = nodeIdentities(sim);
    assert.ok(target);
    await withFault("partition-control-plane", async (ids) => {
      await sim.reconcile().catch(() => undefined);
      assert.ok((await matchedPackets(net, ids)) > 0, "no packet of the control plane's was dropped");
      await getKey([sim.node(target.name).clientUrl], await sim.etcdTls(), "reachable");
    });
  });
});
