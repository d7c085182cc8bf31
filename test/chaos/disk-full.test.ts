// The disk-full fault kind, played by the runner's own episode code on a 3-node simulator whose
// nodes have their data dirs on volumes of their own (a tmpfs each, as the stack mounts a data
// volume) while a client writes with quorum: the target's volume is filled to the last byte, etcd
// there fails to commit with ENOSPC and stops, and once the volume is freed the cluster is whole
// again — etcd back on its own data, or the instance replaced — with every invariant kept. Stopping
// the simulator unmounts every volume. Needs root (mount); skipped with the reason otherwise.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DATA_VOLUME_BYTES, ENOSPC } from "../../chaos/disk-full-episode";
import { DATA_VOLUME_SOURCE } from "../../local/simulator/node";
import { Simulator } from "../../local/simulator/simulator";
import { bareEpisode, playChecked } from "../helpers/chaos-episode";

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
    await sim.waitConverged(120_000);
    assert.equal(volumesMounted(), 3, "each node's data dir is a volume of its own");
    const target = sim.instances("InService").sort((a, b) => a.launchTime - b.launchTime)[0];
    assert.ok(target);
    const node = sim.node(target.id);
    const logStart = readFileSync(node.etcdLog).length;
    const etcdLog = () => readFileSync(node.etcdLog).subarray(logStart).toString();
    // Full for 12 s from etcd's first ENOSPC, while the unit's restarts of etcd fail.
    const faults = await playChecked(
      sim,
      bareEpisode("disk-full", 0, { diskFullMs: 12_000 }),
      1,
      async () => {
        await sleep(4000);
        assert.equal(node.diskFree(), 0, "the data volume is not full");
        await sim.waitFor("etcd to hit ENOSPC", () => etcdLog().includes(ENOSPC), 50_000);
        assert.match(etcdLog(), /cannot commit tx .*no space left on device/);
      },
    );
    assert.equal(faults.counts["disk-full"], 1);
  });

  test("seeds 14003, 14004: the episode ends only once the victim's etcd answers again or the victim is replaced", async () => {
    // At seeds 14003 and 14004 the volume stayed full past the health grace (15 s), the episode ended
    // on a converged member list while the victim's etcd was still down, and the health pass's
    // replacement of it fell into the next episode (an instance refresh, a network fault).
    await sim.waitConverged(120_000);
    const victim = sim.instances("InService").sort((a, b) => a.launchTime - b.launchTime)[0];
    assert.ok(victim);
    await playChecked(sim, bareEpisode("disk-full", 0, { diskFullMs: 20_000 }), 14003);
    const stillThere = sim.instances().some((i) => i.id === victim.id);
    assert.ok(
      !stillThere || sim.node(victim.id).etcdRunning(),
      `${victim.id} is in the group with its etcd down after the episode`,
    );
  });

  test("seed 9110: a fill shorter than etcd takes to notice it still stays until etcd meets ENOSPC", async () => {
    // At seed 9110 a 9.3 s fill was freed before etcd met ENOSPC, and did nothing; 1 s is shorter still.
    const faults = await playChecked(sim, bareEpisode("disk-full", 1, { diskFullMs: 1000 }), 9110);
    assert.equal(faults.counts["disk-full"], 1, "etcd never met the full disk");
  });
});
