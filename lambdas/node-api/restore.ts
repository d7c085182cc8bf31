// What a node of a recovered generation restores before etcd's first start (issue 15): the node
// API decides (domain/restore-command.ts nodeRestore: only a node told `new` in a generation with a
// restore source) and hands it a short-lived presigned GET of the snapshot, with the SHA-256 and size
// to check the download against and the restore command; the node role has no S3 rights.
import type { SnapshotStore } from "../adapters/snapshots";
import type { Runtime } from "../app/ports";
import { ConfigError } from "../config";
import { parseEtcdVersion } from "../domain/etcd-version";
import type { NodeConfig } from "../domain/node-config";
import { nodeRestore } from "../domain/restore-command";
import type { ClusterRecord } from "../domain/snapshot";
import { BadRequestError } from "./request";

/** Long enough to download a large snapshot on a slow start, short enough to be useless later. */
export const RESTORE_URL_LIFETIME_SECONDS = 15 * 60;

export interface RestoreAnswer {
  /** A presigned GET of the snapshot object, valid RESTORE_URL_LIFETIME_SECONDS. */
  readonly url: string;
  readonly sha256: string;
  readonly size: number;
  readonly revision: number;
  /** The tool and its arguments, `{snapshot}` and `{data-dir}` standing for the node's paths. */
  readonly command: readonly string[];
}

/**
 * The restore `config` calls for, or undefined when the node starts as it is. `cluster` is the record
 * `config` was decided on; `etcdVersion` is what the node says it runs (else the stack's
 * ETCD_VERSION); `snapshots` is the bucket, undefined where the function has none.
 */
export async function restoreFor(
  rt: Runtime,
  config: NodeConfig,
  cluster: ClusterRecord | undefined,
  etcdVersion: string | undefined,
  snapshots: (() => Promise<SnapshotStore>) | undefined,
): Promise<RestoreAnswer | undefined> {
  const etcd = config.etcd;
  // Only a `new` answer can restore.
  if (etcd === undefined || etcd.initialClusterState !== "new") return undefined;
  if (cluster?.restoreSource === undefined) return undefined;
  const version =
    etcdVersion === undefined ? rt.config.durability.etcdVersion : parseEtcdVersion(etcdVersion, "etcd");
  if (version === undefined) {
    throw new BadRequestError(
      `generation ${cluster.generation} restores ${cluster.restoreSource.key}: say which etcd this node runs (etcd=MAJOR.MINOR.PATCH) to be told the restore command`,
    );
  }
  const restore = nodeRestore(cluster, etcd, version);
  if (restore === undefined) return undefined;
  if (snapshots === undefined) {
    throw new ConfigError(
      `SNAPSHOT_BUCKET is not set: the node API cannot hand ${etcd.name} the snapshot ${restore.key} it must restore`,
    );
  }
  const url = await (await snapshots()).presignedGet(restore.key, RESTORE_URL_LIFETIME_SECONDS);
  rt.logger.info("a node of a recovered generation restores", {
    key: restore.key,
    revision: restore.revision,
    tool: restore.command.tool,
    bumpsRevision: restore.command.bumpsRevision,
  });
  return {
    url,
    sha256: restore.sha256,
    size: restore.size,
    revision: restore.revision,
    command: [restore.command.tool, ...restore.command.args],
  };
}
