// The snapshot function's flows: take a snapshot when one is due (on the schedule, before a
// removal, on demand), copy a surviving member's data into S3 during recovery, prune what the
// retention policy lets go, and list what the bucket holds. A snapshot is streamed from one member
// into S3 (adapters/snapshots), checked on the way, and only then recorded in the ledger; the age
// of the latest one is a metric every run reports, so an alarm sees snapshots that stop.
import { EtcdEndpoint } from "../adapters/etcd/endpoint";
import type { LedgerContents } from "../adapters/ledger/ledger";
import type { SnapshotStore } from "../adapters/snapshots";
import type { SnapshotRecord } from "../domain/durability";
import type { ClusterRecord } from "../domain/snapshot";
import { retainedSnapshots } from "../domain/snapshot-retention";
import { type SnapshotCandidate, type SnapshotTrigger, snapshotDue } from "../domain/snapshot-schedule";
import { clientUrlOf } from "../domain/urls";
import { EtcdAsgError } from "../errors";
import { etcdEndpoints } from "./load-snapshot";
import type { DurabilityPort, Runtime } from "./ports";

/** A status call to a member while choosing the source. */
const STATUS_TIMEOUT_MS = 3000;
/** Left of the function's time when the stream must be over: recording and pruning come after it. */
const FINISH_MARGIN_MS = 20_000;
/** Phases of a node that runs the current generation's etcd. */
const RUNS_ETCD = new Set(["bootstrapping", "joining", "member"]);

export type SnapshotOutcome =
  | {
      readonly outcome: "taken";
      readonly reason: string;
      readonly snapshot: SnapshotRecord;
      readonly pruned: number;
    }
  | { readonly outcome: "skipped" | "no-source"; readonly reason: string };

export interface SnapshotListing {
  readonly clusterName: string;
  readonly generation: number | undefined;
  readonly token: string | undefined;
  readonly latest: SnapshotRecord | undefined;
  /** The key the current generation was restored from, if it was. */
  readonly restoredFrom: string | undefined;
  /** Every snapshot object of this cluster, oldest key first. */
  readonly snapshots: ReadonlyArray<{
    readonly key: string;
    readonly token: string;
    readonly revision: number;
    readonly takenAt: string;
    readonly size: number;
  }>;
}

/** The snapshot function found nothing to stream from that the request names. */
export class SnapshotSourceGoneError extends EtcdAsgError {
  override readonly name = "SnapshotSourceGoneError";
}

/**
 * Takes a snapshot if `trigger` makes one due; `deadline` (epoch ms) is when the function's time is
 * up. Throws when a due snapshot failed (the function's Errors metric counts it).
 */
export async function takeSnapshotIfDue(
  rt: Runtime,
  durability: DurabilityPort,
  trigger: SnapshotTrigger,
  deadline: number,
): Promise<SnapshotOutcome> {
  const [ledger, latest, instances] = await Promise.all([
    rt.ledger.loadState(),
    durability.ledger.latestSnapshot(),
    rt.group.instances(),
  ]);
  const cluster = ledger.cluster;
  const now = rt.now();
  reportAge(rt, latest, now);
  if (cluster === undefined) return { outcome: "skipped", reason: "no cluster has formed yet" };
  const candidates = await snapshotCandidates(rt, ledger, etcdEndpoints(rt, instances, ledger));
  const verdict = snapshotDue({
    trigger,
    now,
    intervalMs: rt.config.durability.intervalMs,
    generation: cluster.generation,
    latest,
    candidates,
  });
  if (verdict.kind === "skip") return { outcome: "skipped", reason: verdict.reason };
  if (verdict.kind === "no-source") {
    rt.signals.snapshotFailure(verdict.reason);
    return { outcome: "no-source", reason: verdict.reason };
  }
  const { source } = verdict;
  const member = { instanceId: source.name, memberId: source.memberId };
  const snapshot = await stream(rt, durability, cluster, member, source.clientUrl, deadline);
  return {
    outcome: "taken",
    reason: verdict.reason,
    ...(await recordAndPrune(rt, durability, cluster, snapshot)),
  };
}

/**
 * Recovery's copy of a surviving member (quorum lost for good, its data newer than every snapshot):
 * streamed from that member, which serves a snapshot of its own data without quorum. Skipped when the
 * ledger's latest snapshot of this generation already holds the survivor's revision.
 */
export async function copySurvivor(
  rt: Runtime,
  durability: DurabilityPort,
  survivor: { readonly instanceId: string; readonly memberId: string; readonly revision: number },
  deadline: number,
): Promise<SnapshotOutcome> {
  const [ledger, latest] = await Promise.all([rt.ledger.loadState(), durability.ledger.latestSnapshot()]);
  const cluster = ledger.cluster;
  reportAge(rt, latest, rt.now());
  if (cluster === undefined) return { outcome: "skipped", reason: "no cluster has formed yet" };
  if (latest?.token === cluster.token && (latest.maxRevision ?? latest.revision) >= survivor.revision) {
    return {
      outcome: "skipped",
      reason: `the latest snapshot ${latest.key} already holds revision ${survivor.revision}`,
    };
  }
  const node = ledger.nodes.find((n) => n.instanceId === survivor.instanceId);
  if (node === undefined || !RUNS_ETCD.has(node.phase)) {
    throw new SnapshotSourceGoneError(
      `${survivor.instanceId} runs no etcd of generation ${cluster.generation}: nothing to copy`,
    );
  }
  const url = clientUrlOf(rt.config.policy, node.privateIp);
  const snapshot = await stream(rt, durability, cluster, survivor, url, deadline);
  rt.logger.info("copied a surviving member's data into S3", { key: snapshot.key, ...survivor });
  return {
    outcome: "taken",
    reason: `copied ${survivor.instanceId} (revision ${survivor.revision}) for recovery`,
    ...(await recordAndPrune(rt, durability, cluster, snapshot)),
  };
}

/** What the bucket holds for this cluster, and what the ledger says about it. */
export async function listSnapshots(rt: Runtime, durability: DurabilityPort): Promise<SnapshotListing> {
  const store = await durability.store();
  const [ledger, latest, listed] = await Promise.all([
    rt.ledger.loadState(),
    durability.ledger.latestSnapshot(),
    store.list(),
  ]);
  return {
    clusterName: rt.config.clusterName,
    generation: ledger.cluster?.generation,
    token: ledger.cluster?.token,
    latest,
    restoredFrom: ledger.cluster?.restoreSource?.key,
    snapshots: listed.map((s) => ({ ...s, takenAt: new Date(s.takenAt).toISOString() })),
  };
}

/** Each started member of the current generation with its own status answer. */
async function snapshotCandidates(
  rt: Runtime,
  ledger: LedgerContents,
  endpoints: readonly string[],
): Promise<SnapshotCandidate[]> {
  if (endpoints.length === 0) return [];
  const etcd = rt.etcd(endpoints);
  try {
    let members: Awaited<ReturnType<typeof etcd.listMembers>>;
    try {
      members = await etcd.listMembers();
    } catch (error) {
      rt.logger.warn("no etcd member answered a member list", { endpoints, error });
      return [];
    }
    // Members the ledger does not know as this generation's are not a source: a name of another
    // generation on a reused address must never be recorded under this generation's token.
    const ours = members.filter((m) =>
      ledger.nodes.some((n) => n.instanceId === m.name && RUNS_ETCD.has(n.phase)),
    );
    const probes = await etcd.probe(ours.flatMap((m) => m.clientUrls.slice(0, 1)));
    return ours.flatMap((m) => {
      const clientUrl = m.clientUrls[0];
      if (clientUrl === undefined) return [];
      const probe = probes.find((p) => p.endpoint === clientUrl);
      const status = probe?.answered === true ? probe.status : undefined;
      return [
        {
          memberId: m.id,
          name: m.name,
          clientUrl,
          isLearner: m.isLearner,
          answered: status !== undefined && status.memberId === m.id,
          leaderId: status?.leaderId ?? "0",
          raftAppliedIndex: status?.raftAppliedIndex ?? "0",
          errors: status?.errors ?? [],
        },
      ];
    });
  } finally {
    etcd.close();
  }
}

/** Streams one member's snapshot into S3, checked; returns what the ledger records. */
async function stream(
  rt: Runtime,
  durability: DurabilityPort,
  cluster: ClusterRecord,
  member: { readonly instanceId: string; readonly memberId: string },
  clientUrl: string,
  deadline: number,
): Promise<SnapshotRecord> {
  const [{ SnapshotUploader, uploadTuning }, store] = await Promise.all([
    import("../adapters/snapshots"),
    durability.store(),
  ]);
  const uploader = new SnapshotUploader({
    store,
    tuning: uploadTuning(rt.config.durability.functionMemoryMb ?? 256),
    statusTimeoutMs: STATUS_TIMEOUT_MS,
    onWarning: (message) => rt.logger.warn(message),
  });
  const source = new EtcdEndpoint(clientUrl, STATUS_TIMEOUT_MS, () => rt.pki.identity());
  try {
    return await uploader.take({
      source,
      member,
      token: cluster.token,
      generation: cluster.generation,
      timeoutMs: Math.max(1000, deadline - rt.now() - FINISH_MARGIN_MS),
      now: rt.now,
    });
  } catch (error) {
    rt.signals.snapshotFailure(`from ${member.instanceId} at ${clientUrl}: ${(error as Error).message}`);
    throw error;
  } finally {
    source.close();
  }
}

/** Records the snapshot as the latest (unless a newer one is), then deletes what retention lets go. */
async function recordAndPrune(
  rt: Runtime,
  durability: DurabilityPort,
  cluster: ClusterRecord,
  snapshot: SnapshotRecord,
): Promise<{ snapshot: SnapshotRecord; pruned: number }> {
  const recorded = await durability.ledger.recordSnapshot(snapshot);
  if (!recorded.recorded) {
    rt.logger.info("a newer snapshot is recorded already; this one stays in S3 until retention", {
      key: snapshot.key,
      latest: recorded.latest.key,
    });
  }
  reportAge(rt, recorded.latest, rt.now());
  const pruned = await prune(rt, await durability.store(), cluster, recorded.latest);
  rt.logger.info("snapshot taken", { ...snapshot, member: snapshot.member.instanceId, pruned });
  return { snapshot, pruned };
}

/** Deletes the snapshots the retention tiers do not keep; the latest and the current generation's
 * restore source are pinned. A deletion S3 refuses is logged and tried again next time. */
async function prune(
  rt: Runtime,
  store: SnapshotStore,
  cluster: ClusterRecord,
  latest: SnapshotRecord,
): Promise<number> {
  const listed = await store.list();
  const pinned = [latest.key, ...(cluster.restoreSource === undefined ? [] : [cluster.restoreSource.key])];
  const { remove } = retainedSnapshots({
    snapshots: listed,
    tiers: rt.config.durability.retention,
    now: rt.now(),
    pinned,
  });
  if (remove.length === 0) return 0;
  const refused = await store.delete(remove);
  for (const { key, reason } of refused)
    rt.logger.warn("retention could not delete a snapshot", { key, reason });
  return remove.length - refused.length;
}

function reportAge(rt: Runtime, latest: SnapshotRecord | undefined, now: number): void {
  // No snapshot yet counts as infinitely old only once a cluster has run long enough to need one;
  // the alarm treats a missing datapoint as breaching, so nothing is emitted before the first.
  if (latest !== undefined) rt.signals.snapshotAge(now - latest.takenAt);
}
