// The snapshot function's `{"operation": "restore", "key": ...}` (`etcd-asg restore --key KEY`): look
// the key up in the bucket, let the domain decide (domain/operator-restore.ts), and record the
// request in the ledger with one conditional write. The recovery step of the reconcile pass carries
// it out. A refusal changes nothing and names the key.
import type { RestoreRequest } from "../adapters/ledger/durability";
import type { SnapshotStore } from "../adapters/snapshots";
import { SnapshotNotFoundError } from "../adapters/snapshots/errors";
import { parseSnapshotKey } from "../adapters/snapshots/keys";
import { operatorRestore, type SnapshotLookup } from "../domain/operator-restore";
import { EtcdAsgError } from "../errors";
import type { DurabilityPort, Runtime } from "./ports";

/** The restore command named a snapshot that cannot be restored, or came too late: nothing changed. */
export class RestoreRefusedError extends EtcdAsgError {
  override readonly name = "RestoreRefusedError";
}

export interface RestoreRecorded {
  readonly outcome: "recorded";
  readonly key: string;
  /** The generation the request replaces; the recovery step opens the next one from the snapshot. */
  readonly generation: number;
  readonly request: RestoreRequest;
  readonly reason: string;
}

export async function requestRestore(
  rt: Runtime,
  durability: DurabilityPort,
  key: string,
): Promise<RestoreRecorded> {
  const store = await durability.store();
  const [ledger, lookup] = await Promise.all([rt.ledger.loadState(), lookUp(store, key)]);
  const verdict = operatorRestore({
    key,
    clusterName: rt.config.clusterName,
    bucket: store.bucket,
    cluster: ledger.cluster,
    lookup,
    now: rt.now(),
  });
  if (verdict.kind === "refuse") {
    rt.logger.warn("restore refused", { key, reason: verdict.reason });
    throw new RestoreRefusedError(`restore refused: ${verdict.reason}`);
  }
  const written = await durability.ledger.requestRestore(verdict.request);
  if (!written.recorded) {
    throw new RestoreRefusedError(
      `restore refused: the ledger holds a later restore request, of ${written.request.source.key} over ` +
        `generation ${written.request.generation} at ${new Date(written.request.requestedAt).toISOString()}; ` +
        "run `etcd-asg snapshots` and restore again if that is not the one",
    );
  }
  rt.logger.warn("restore requested", {
    key,
    generation: verdict.request.generation,
    reason: verdict.reason,
  });
  return {
    outcome: "recorded",
    key,
    generation: verdict.request.generation,
    request: written.request,
    reason: verdict.reason,
  };
}

async function lookUp(store: SnapshotStore, key: string): Promise<SnapshotLookup> {
  const parts = parseSnapshotKey(key);
  if (parts === undefined) {
    return { kind: "foreign", why: "a snapshot key is <cluster>/<token>/<revision>-<time>.db" };
  }
  if (parts.clusterName !== store.clusterName) {
    return { kind: "foreign", why: `it is under cluster ${parts.clusterName}'s prefix` };
  }
  try {
    const snapshot = await store.describe(key);
    return snapshot === undefined ? { kind: "unchecked" } : { kind: "found", snapshot };
  } catch (error) {
    if (error instanceof SnapshotNotFoundError) return { kind: "missing" };
    throw error;
  }
}
