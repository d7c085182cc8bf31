// An operator's restore command (`etcd-asg restore --key KEY`): whether the named snapshot may be
// recorded as the restore request, and the request. Only a checked snapshot of this cluster that is
// in the bucket is accepted, and only over a cluster the ledger holds: the request names the
// generation it replaces, and the recovery step opens the next one from it (lambdas/app/recovery.ts),
// in either recovery mode, replacing every instance of that generation first. Pure: the caller
// looks the key up in the bucket and reads the ledger and the clock.
import { type RestoreSource, restoreSourceOf, type SnapshotRecord } from "./durability";
import type { ClusterRecord } from "./snapshot";

/** What the bucket says about the key. */
export type SnapshotLookup =
  /** Not a key of the snapshot layout (adapters/snapshots/keys.ts), or another cluster's. */
  | { readonly kind: "foreign"; readonly why: string }
  | { readonly kind: "missing" }
  /** The object exists but never passed its checks (no hash tag): it is not restored. */
  | { readonly kind: "unchecked" }
  | { readonly kind: "found"; readonly snapshot: SnapshotRecord };

export interface OperatorRestoreInput {
  readonly key: string;
  readonly clusterName: string;
  readonly bucket: string;
  readonly cluster: ClusterRecord | undefined;
  readonly lookup: SnapshotLookup;
  /** Epoch milliseconds. */
  readonly now: number;
}

/** The request the ledger records (adapters/ledger/durability.ts RestoreRequest). */
export interface RequestedRestore {
  /** The generation the restore replaces: the ledger's current one. */
  readonly generation: number;
  readonly source: RestoreSource;
  /** Epoch milliseconds. */
  readonly requestedAt: number;
}

export type OperatorRestoreVerdict =
  | { readonly kind: "refuse"; readonly reason: string }
  | { readonly kind: "record"; readonly request: RequestedRestore; readonly reason: string };

export function operatorRestore(input: OperatorRestoreInput): OperatorRestoreVerdict {
  const { key, clusterName, bucket, cluster, lookup } = input;
  const named = `snapshot ${JSON.stringify(key)}`;
  switch (lookup.kind) {
    case "foreign":
      return { kind: "refuse", reason: `${named} is not one of cluster ${clusterName}'s: ${lookup.why}` };
    case "missing":
      return {
        kind: "refuse",
        reason: `${named} is not in bucket ${bucket}: \`etcd-asg snapshots\` lists cluster ${clusterName}'s`,
      };
    case "unchecked":
      return {
        kind: "refuse",
        reason: `${named} never passed its checks (it has no sha256 tag, so its upload was cut short): restore another`,
      };
    case "found":
      break;
  }
  if (cluster === undefined) {
    return {
      kind: "refuse",
      reason: `the ledger holds no cluster of ${clusterName}: a restore opens the generation after the current one, and there is none (a new cluster bootstraps)`,
    };
  }
  const next = cluster.generation + 1;
  return {
    kind: "record",
    request: {
      generation: cluster.generation,
      source: restoreSourceOf(lookup.snapshot),
      requestedAt: input.now,
    },
    reason:
      `the control plane opens generation ${next} from ${key} (revision ${lookup.snapshot.revision}), ` +
      `replacing every instance of generation ${cluster.generation} first`,
  };
}
