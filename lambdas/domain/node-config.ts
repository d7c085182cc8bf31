// The configuration published for one node: everything etcd needs to start (name, initial cluster,
// state, token, URLs, data dir, backend quota and auto-compaction) plus the decision and its reason,
// as the boot script reads it.
import type { Decision } from "./decision";
import type { EtcdStorageSettings } from "./etcd-storage";
import type { Member, Snapshot } from "./snapshot";
import { type StartAfter, startAfter } from "./start-order";
import { clientUrlOf, peerUrlOf } from "./urls";
import { ClusterView } from "./view";

/** `refused`: the node runs an etcd version the cluster must not take; it does not start etcd. */
export type NodeRole = "member" | "learner" | "not-a-member" | "refused" | "wait";

/** What etcd is started with; the storage settings are the same on every node (etcd-storage.ts). */
export interface EtcdSettings extends EtcdStorageSettings {
  readonly name: string;
  readonly initialCluster: string;
  readonly initialClusterState: "new" | "existing";
  readonly initialClusterToken: string;
  readonly initialAdvertisePeerUrls: string;
  readonly listenPeerUrls: string;
  readonly listenClientUrls: string;
  readonly advertiseClientUrls: string;
  readonly dataDir: string;
}

export interface NodeConfig {
  readonly role: NodeRole;
  readonly reason: string;
  /** Absent unless the node runs etcd (member or learner). */
  readonly etcd: EtcdSettings | undefined;
  /** The member to wait for before etcd's first start: only an initial member of a new cluster that
   * restores nothing, and not the one every other waits for (start-order.ts). */
  readonly startAfter?: StartAfter | undefined;
}

/**
 * What `instanceId` is told after `decision` has been applied. `members` is etcd's member list after
 * the change (it includes the member just added), so a joining node's `--initial-cluster` lists the
 * cluster as etcd will see it. Only the initial set of a forming generation is ever told `new`.
 */
export function nodeConfig(
  snapshot: Snapshot,
  instanceId: string,
  decision: Decision,
  members: readonly Member[],
  dataDir: string,
  storage: EtcdStorageSettings,
): NodeConfig {
  const view = new ClusterView({ ...snapshot, members });
  const instance = view.instance(instanceId);
  const cluster = snapshot.ledger.cluster;
  if (decision.kind === "not-a-member")
    return { role: "not-a-member", reason: decision.reason, etcd: undefined };
  if (decision.kind === "version-refused")
    return { role: "refused", reason: decision.reason, etcd: undefined };
  if (instance?.privateIp === undefined || cluster === undefined) {
    return { role: "wait", reason: decision.reason, etcd: undefined };
  }
  const ip = instance.privateIp;
  const urls = {
    name: instanceId,
    initialClusterToken: cluster.token,
    initialAdvertisePeerUrls: peerUrlOf(snapshot.policy, ip),
    listenPeerUrls: peerUrlOf(snapshot.policy, ip),
    listenClientUrls: clientUrlOf(snapshot.policy, ip),
    advertiseClientUrls: clientUrlOf(snapshot.policy, ip),
    dataDir,
    ...storage,
  };
  const initial = cluster.initialMembers.some((m) => m.instanceId === instanceId);
  if (cluster.state === "forming" && initial) {
    const after =
      cluster.restoreSource === undefined
        ? startAfter(
            cluster.initialMembers.map((m) => m.peerUrl),
            urls.initialAdvertisePeerUrls,
          )
        : undefined;
    return {
      role: "member",
      reason: decision.reason,
      etcd: {
        ...urls,
        initialCluster: cluster.initialMembers.map((m) => `${m.instanceId}=${m.peerUrl}`).join(","),
        initialClusterState: "new",
      },
      ...(after === undefined ? {} : { startAfter: after }),
    };
  }
  const own = view.memberOf(instanceId);
  if (own === undefined) return { role: "wait", reason: decision.reason, etcd: undefined };
  const initialCluster = members
    .flatMap((m) =>
      m.peerUrls.map((url) => `${m === own ? instanceId : (view.ownerOf(m) ?? `member-${m.id}`)}=${url}`),
    )
    .join(",");
  return {
    role: own.isLearner ? "learner" : "member",
    reason: decision.reason,
    etcd: { ...urls, initialCluster, initialClusterState: "existing" },
  };
}
