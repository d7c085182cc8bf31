// The reconciler's `status` operation (`etcd-asg status`): one reading of the group, the ledger, etcd's
// members with each one's Maintenance.Status, and the latest snapshot record; changes nothing.
import { type ClusterStatus, clusterStatus, type MemberReading } from "../domain/cluster-status";
import type { Member } from "../domain/snapshot";
import { etcdEndpoints, loadSnapshot } from "./load-snapshot";
import type { Runtime } from "./ports";
import { driftOf } from "./reconcile";

export async function readClusterStatus(rt: Runtime): Promise<ClusterStatus> {
  const [{ snapshot, ledger }, latestSnapshot] = await Promise.all([
    loadSnapshot(rt, { event: "reconcile" }),
    rt.ledger.latestSnapshot(),
  ]);
  return clusterStatus({
    instances: snapshot.instances,
    ledger,
    members: snapshot.members,
    readings: await readings(rt, snapshot.members, etcdEndpoints(rt, snapshot.instances, ledger)),
    latestSnapshot,
    drift: driftOf(snapshot),
    now: rt.now(),
  });
}

/** Each started member's own status; none when no endpoint is known. */
async function readings(
  rt: Runtime,
  members: readonly Member[],
  endpoints: readonly string[],
): Promise<MemberReading[]> {
  const urls = members.flatMap((m) => m.clientUrls.slice(0, 1));
  if (urls.length === 0 || endpoints.length === 0) return [];
  const etcd = rt.etcd(endpoints);
  try {
    const probes = await etcd.probe(urls);
    return probes.flatMap((p) => (p.answered ? [p.status] : []));
  } finally {
    etcd.close();
  }
}
