// The disk-full fault kind, played by the runner's own episode code on a 3-node simulator whose
// nodes have their data dirs on volumes of their own (a tmpfs each, as the stack mounts a data
// volume): the target's volume is filled to the last byte, etcd there fails to commit with ENOSPC
// and stops, and once the volume is freed the cluster is whole again — etcd back on its own data, or
// the instance replaced — with every invariant kept. Stopping the simulator unmounts every volume.
// Needs root (mount); skipped with the reason otherwise.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DATA_VOLUME_BYTES, ENOSPC } from "../../chaos/disk-full-episode";
import { type EpisodeContext, type ExpectedTimeout, playEpisode } from "../../chaos/episodes";
import { FaultInjection } from "../../chaos/faults";
import { checkInvariants, type Violation } from "../../chaos/invariants";
import { ClusterMonitor } from "../../chaos/monitor";
import type { Episode } from "../../chaos/schedule";
import { QuorumWriter } from "../../chaos/writer";
import { DATA_VOLUME_SOURCE } from "../../local/simulator/node";
import { Simulator } from "../../local/simulator/simulator";

const CONVERGE_MS = 120_000;
const skip = process.getuid?.() === 0 ? false : "mounting a data volume needs root";

let sim: Simulator;

function volumesMounted(): number {
  return readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .filter((line) => line.startsWith(`${DATA_VOLUME_SOURCE} `) && line.includes(sim.root)).length;
}

describe("disk-full", { skip, timeout: 600_000 }, () => {
  before(async () => {
    sim = await Simulator.start({ size: 3, maxSize: 5, dataVolumeBytes: DATA_VOLUME_BYTES });
  });
  after(async () => {
    await sim?.stop();
    assert.equal(volumesMounted(), 0, "a data volume is still mounted");
  });

  test("a node's data volume fills, its etcd stops on ENOSPC, and the cluster is whole again once it is freed", async () => {
    await sim.waitConverged(CONVERGE_MS);
    assert.equal(volumesMounted(), 3, "each node's data dir is a volume of its own");
    const target = sim.instances("InService").sort((a, b) => a.launchTime - b.launchTime)[0];
    assert.ok(target);
    const node = sim.node(target.id);
    const logStart = readFileSync(node.etcdLog).length;
    // Full for 12 s from etcd's first ENOSPC, while the unit's restarts of etcd fail.
    const ep: Episode = {
      kind: "disk-full",
      target: 0,
      killToHealthCheckMs: 0,
      refreshOrder: "terminate-first",
      events: { duplicate: 0, delay: 0, drop: 0 },
      aws: { throttling: 0, serverError: 0 },
      diskFullMs: 12_000,
    };
    const faults = new FaultInjection(sim, 1);
    const writer = new QuorumWriter(sim, "disk-full");
    const monitor = new ClusterMonitor(sim);
    const expectedTimeouts: ExpectedTimeout[] = [];
    const violations: Violation[] = [];
    const startedAt = Date.now();
    monitor.start();
    writer.start();
    const ctx: EpisodeContext = { sim, faults, convergeMs: CONVERGE_MS, expectedTimeouts, violations };
    const playing = playEpisode(ctx, ep);
    // While it is full: no byte free on the volume, and etcd there stops on ENOSPC.
    await sleep(4000);
    assert.equal(node.diskFree(), 0, "the data volume is not full");
    const etcdLog = () => readFileSync(node.etcdLog).subarray(logStart).toString();
    await sim.waitFor("etcd to hit ENOSPC", () => etcdLog().includes(ENOSPC), 50_000);
    assert.match(etcdLog(), /cannot commit tx .*no space left on device/);
    try {
      await playing;
    } finally {
      await writer.stop();
      await monitor.stop();
    }
    assert.ok(faults.counts["disk-full"] >= 1, `disk-full not counted: ${JSON.stringify(faults.counts)}`);
    await sim.reconcile();
    await sim.waitConverged(CONVERGE_MS);
    const divergence = (await sim.divergence()) ?? undefined;
    const verdict = await checkInvariants({ sim, writer, monitor, expectedTimeouts, divergence, startedAt });
    assert.deepEqual([...violations, ...verdict.violations], []);
    assert.ok(writer.acknowledged.size > 0, "no write was acknowledged");
  });
});
