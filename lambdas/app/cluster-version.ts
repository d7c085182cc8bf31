// The reconcile pass's record of etcd's cluster version: the domain says whether it moves (only up,
// once every member has a version), and the ledger keeps it for `etcd-asg status` and for the
// version rules of the next launch.
import { formatClusterVersion } from "../domain/etcd-version";
import { clusterVersionUpdate } from "../domain/roll";
import type { Snapshot } from "../domain/snapshot";
import { ClusterView } from "../domain/view";
import type { Runtime } from "./ports";

/** Records the cluster version when it moved; returns what the ledger now holds, if anything. */
export async function recordClusterVersion(rt: Runtime, snapshot: Snapshot): Promise<string | undefined> {
  const cluster = snapshot.ledger.cluster;
  const update = clusterVersionUpdate(new ClusterView(snapshot));
  if (cluster === undefined || update === undefined) return undefined;
  if (!update.moved || update.version === undefined) return cluster.etcdVersion;
  const version = formatClusterVersion(update.version);
  await rt.ledger.recordClusterVersion(cluster.generation, version);
  rt.logger.info("cluster etcd version recorded", {
    clusterVersion: version,
    previous: cluster.etcdVersion,
    reason: update.reason,
  });
  return version;
}
