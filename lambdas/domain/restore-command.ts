// The restore command a node of a recovered generation runs, chosen by the control plane from the
// etcd version the node runs (the node API decides, the boot script executes). etcd's source
// (etcd-io/etcd tags, CHANGELOG-3.4/3.5/3.6) says:
//
//   3.4.0 – 3.4.26   etcdctl snapshot restore                   no --bump-revision / --mark-compacted
//   3.4.27 and later etcdctl snapshot restore                   both flags (etcd PR 16193)
//   3.5.0 – 3.5.9    etcdutl snapshot restore                   neither (etcdctl's restore is deprecated)
//   3.5.10 and later etcdutl snapshot restore                   both flags (PR 16165)
//   3.6 and later    etcdutl snapshot restore                   both flags (PR 16029); etcdctl has none
//
// Where supported the revision is bumped and marked compacted, so that a watcher resuming from a
// revision it saw before the loss is told "compacted" and resyncs, instead of silently missing the
// events that were lost with the old generation. The hash check stays on everywhere: no
// --skip-hash-check (the object carries the SHA-256 etcd appended).
import { compareEtcdVersions, type EtcdVersion, parseEtcdVersion } from "./etcd-version";
import type { ClusterRecord } from "./snapshot";

/**
 * How far the revision is bumped: more than the writes the old generation could have made after the
 * snapshot, so no revision a client saw is ever reused. Kubernetes' etcd restore guide uses the same.
 */
export const DEFAULT_REVISION_BUMP = 1_000_000_000;

const ETCDCTL_BUMP_SINCE = parseEtcdVersion("3.4.27");
const ETCDUTL_SINCE = parseEtcdVersion("3.5.0");
const ETCDUTL_BUMP_SINCE = parseEtcdVersion("3.5.10");

/** An etcd older than 3.4: the project does not run it, and its restore is not chosen here. */
export class UnsupportedRestoreVersionError extends Error {
  override readonly name = "UnsupportedRestoreVersionError";
}

export interface RestoreCommandInput {
  /** The etcd the node runs (its `etcd --version`). */
  readonly etcdVersion: EtcdVersion;
  /** The snapshot file the node downloaded and checked. */
  readonly snapshotFile: string;
  /** The node's member name (its instance ID), as in the generation's initial set. */
  readonly name: string;
  /** `name=peerUrl,...` of the generation's initial set. */
  readonly initialCluster: string;
  readonly initialClusterToken: string;
  readonly initialAdvertisePeerUrl: string;
  /** A fresh data dir: the old generation's is moved aside first, never restored over. */
  readonly dataDir: string;
  /** @default DEFAULT_REVISION_BUMP */
  readonly revisionBump?: number;
}

export interface RestoreCommand {
  readonly tool: "etcdctl" | "etcdutl";
  /** The arguments after the tool's name. */
  readonly args: readonly string[];
  /** Whether the restore bumps the revision and marks it compacted. */
  readonly bumpsRevision: boolean;
  readonly reason: string;
}

export function restoreCommand(input: RestoreCommandInput): RestoreCommand {
  const version = input.etcdVersion;
  if (version.major !== 3 || version.minor < 4) {
    throw new UnsupportedRestoreVersionError(
      `etcd ${version.text}: restores are chosen for etcd 3.4 and later`,
    );
  }
  const tool = compareEtcdVersions(version, ETCDUTL_SINCE) >= 0 ? "etcdutl" : "etcdctl";
  const since = tool === "etcdutl" ? ETCDUTL_BUMP_SINCE : ETCDCTL_BUMP_SINCE;
  const bumpsRevision = compareEtcdVersions(version, since) >= 0;
  const bump = input.revisionBump ?? DEFAULT_REVISION_BUMP;
  const args = [
    "snapshot",
    "restore",
    input.snapshotFile,
    `--name=${input.name}`,
    `--initial-cluster=${input.initialCluster}`,
    `--initial-cluster-token=${input.initialClusterToken}`,
    `--initial-advertise-peer-urls=${input.initialAdvertisePeerUrl}`,
    `--data-dir=${input.dataDir}`,
    ...(bumpsRevision ? [`--bump-revision=${bump}`, "--mark-compacted"] : []),
  ];
  return {
    tool,
    args,
    bumpsRevision,
    reason: bumpsRevision
      ? `${tool} ${version.text} bumps the revision by ${bump} and marks it compacted: watchers resync`
      : `${tool} ${version.text} cannot bump the revision (${tool === "etcdutl" ? "3.5.10" : "3.4.27"} can): watchers resuming from an old revision may miss the lost events`,
  };
}

/** Stand-ins the node replaces with its own paths: the control plane knows neither where the node
 * downloads the snapshot nor its data dir (the boot script may override the published one). */
export const RESTORE_PLACEHOLDERS = { snapshotFile: "{snapshot}", dataDir: "{data-dir}" } as const;

/** What a node of a recovered generation is told to restore before its first start. */
export interface NodeRestore {
  /** The snapshot object: its key, and what the node checks the download against. */
  readonly key: string;
  readonly sha256: string;
  readonly size: number;
  readonly revision: number;
  /** The restore command, with `RESTORE_PLACEHOLDERS` where the node's own paths go. */
  readonly command: RestoreCommand;
}

/** The part of a node's published settings a restore needs (domain/node-config.ts EtcdSettings). */
export interface RestoreSettings {
  readonly name: string;
  readonly initialCluster: string;
  readonly initialClusterState: "new" | "existing";
  readonly initialClusterToken: string;
  readonly initialAdvertisePeerUrls: string;
}

/**
 * The restore a node must make before it starts, or undefined when it starts as it is: only a node
 * told to start a new cluster (`new`) in a generation that has a restore source restores. Every node
 * of the initial set restores the same object with the same initial cluster and token, so they agree
 * on the cluster and member IDs, and the token is the new generation's: the cluster ID is new.
 */
export function nodeRestore(
  cluster: Pick<ClusterRecord, "restoreSource" | "token">,
  settings: RestoreSettings,
  etcdVersion: EtcdVersion,
): NodeRestore | undefined {
  const source = cluster.restoreSource;
  if (source === undefined || settings.initialClusterState !== "new") return undefined;
  if (settings.initialClusterToken !== cluster.token) return undefined;
  const peerUrl = settings.initialAdvertisePeerUrls.split(",")[0] ?? "";
  return {
    key: source.key,
    sha256: source.sha256,
    size: source.size,
    revision: source.revision,
    command: restoreCommand({
      etcdVersion,
      snapshotFile: RESTORE_PLACEHOLDERS.snapshotFile,
      name: settings.name,
      initialCluster: settings.initialCluster,
      initialClusterToken: settings.initialClusterToken,
      initialAdvertisePeerUrl: peerUrl,
      dataDir: RESTORE_PLACEHOLDERS.dataDir,
    }),
  };
}
