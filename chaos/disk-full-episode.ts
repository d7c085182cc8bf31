// The disk-full fault kind: one node's data volume (a tmpfs of its own in a run with this fault,
// `dataVolumeBytes`) filled to the last byte until etcd first meets ENOSPC, and a while after, then
// freed. etcd 3.4 cannot commit its backend (`mvcc/backend: cannot commit tx (... no space left on
// device)`) and exits; the unit restarts it, and it exits again while the disk stays full. Freed
// soon, etcd comes back with its data; down past the health grace, the control plane has the group
// replace the instance, whose replacement gets a fresh volume. A fill that etcd never met (within a
// minute) did nothing and is not counted.
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { EmulatedInstance } from "../local/aws/types";
import { answers } from "../local/simulator/etcd-client";
import type { EpisodeContext } from "./episodes";
import type { Episode } from "./schedule";

/** Each node's data volume in a run with disk-full: room for etcd's two preallocated 64 MiB WAL
 * segments and a small backend. */
export const DATA_VOLUME_BYTES = 256 * 1024 * 1024;

/** How long a full disk may wait for etcd's first ENOSPC. */
const ENOSPC_WAIT_MS = 60_000;

/** What etcd logs when the full disk stops it. */
export const ENOSPC = "no space left on device";

export async function playDiskFull(
  ctx: EpisodeContext,
  episode: Episode,
  target: (index: number) => EmulatedInstance,
): Promise<void> {
  const { sim, faults } = ctx;
  const forMs = episode.diskFullMs;
  if (forMs === undefined) throw new Error("disk-full episode without a duration");
  await sim.waitConverged(ctx.convergeMs);
  const victim = target(episode.target);
  const node = sim.node(victim.id);
  const hitsBefore = enospcHits(node.etcdLog);
  const written = node.fillDisk();
  if (written === 0) throw new Error(`disk-full: ${victim.id} has no data volume of its own to fill`);
  sim.timeline.add("fault", `disk-full: ${victim.id}'s data volume filled (${written} bytes)`);
  let hit = false;
  try {
    // etcd may go on a while on a full disk (its WAL segments are preallocated, and its backend reuses
    // pages it has), so the while counts from its first ENOSPC.
    const deadline = Date.now() + ENOSPC_WAIT_MS;
    while (!hit && Date.now() < deadline) {
      await sleep(250);
      hit = enospcHits(node.etcdLog) > hitsBefore;
    }
    if (hit) {
      sim.timeline.add(
        "fault",
        `disk-full: etcd on ${victim.id} hit ENOSPC; the volume stays full ${forMs} ms`,
      );
      await sleep(forMs);
    }
  } finally {
    node.freeDisk();
  }
  const hits = enospcHits(node.etcdLog) - hitsBefore;
  sim.timeline.add("fault", `disk-full: ${victim.id}'s volume freed; etcd hit ENOSPC ${hits} times`);
  if (hit) faults.count("disk-full");
  else sim.timeline.add("fault", "disk-full: etcd never hit ENOSPC: it did nothing and is not counted");
  await sim.reconcile().catch(() => undefined);
  // The cluster converges while the victim's etcd is still down (the member is listed, the instance
  // InService); the episode is over only once etcd answers there again or the control plane has had
  // the group replace the instance, or that replacement would fall into the next episode.
  await sim.waitFor(
    `${victim.id}'s etcd to answer again or ${victim.id} to be replaced`,
    () => victimSettled(ctx, victim.id),
    ctx.convergeMs,
  );
  await sim.waitConverged(ctx.convergeMs);
}

/** True once the victim has left the group or its etcd answers on its client URL. */
async function victimSettled(ctx: EpisodeContext, instanceId: string): Promise<boolean> {
  const { sim } = ctx;
  if (!sim.instances().some((i) => i.id === instanceId && i.lifecycleState === "InService")) {
    return !sim.instances().some((i) => i.id === instanceId);
  }
  const node = sim.node(instanceId);
  if (!node.etcdRunning()) return false;
  return answers(node.clientUrl, await sim.etcdTls());
}

/** How many times etcd's log says it found the disk full. */
function enospcHits(log: string): number {
  try {
    return readFileSync(log, "utf8").split(ENOSPC).length - 1;
  } catch {
    return 0;
  }
}
