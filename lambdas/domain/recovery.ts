// Coming back after quorum is lost for good: which data to restore (the newest that exists), whether
// to open a new generation now (automatic mode) or raise an alarm and wait for an operator's restore
// (manual mode), and the record of the new generation — a new token, the restore source and a fresh
// initial member set chosen as a bootstrap chooses one — that the ledger writes with one
// conditional write over the current generation. A recovered generation that no one can form any
// more (every initial member gone before it formed) is opened again the same way.
import type { DisasterRecoveryMode, RestoreSource, SnapshotRecord } from "./durability";
import { restoreSourceOf } from "./durability";
import type { QuorumLossVerdict } from "./quorum-loss";
import type { ClusterRecord, InitialMember, Instance, NodeRecord, Policy } from "./snapshot";
import { peerUrlOf } from "./urls";
import { compareText, isLive } from "./view";

/** A member of the current generation that answered a status call during recovery. */
export interface Survivor {
  readonly instanceId: string;
  /** Decimal string. */
  readonly memberId: string;
  /** The key-value revision its status header reports: its data holds every write up to it. */
  readonly revision: number;
}

export interface RestoreSourceInput {
  /** The current generation's cluster record. */
  readonly cluster: ClusterRecord;
  /** Snapshot records known to the caller: the ledger's latest, and what a listing of S3 found. */
  readonly snapshots: readonly SnapshotRecord[];
  readonly survivors: readonly Survivor[];
}

export type RestoreChoice =
  | { readonly kind: "snapshot"; readonly source: RestoreSource; readonly reason: string }
  /** A surviving member holds newer data than any snapshot: copy it into S3 first. */
  | { readonly kind: "member"; readonly member: Survivor; readonly reason: string }
  | { readonly kind: "none"; readonly reason: string };

/**
 * The newest data that exists. Only snapshots of the current generation (its token) are compared:
 * revisions continue across a restore, but an operator's restore of an older snapshot starts a
 * history that an older generation's higher revisions do not belong to. Without one, the snapshot
 * the current generation was restored from is the newest data S3 holds for it.
 *
 * A survivor wins only when its revision is above the snapshot's upper bound (`maxRevision`): then
 * it holds every write the snapshot holds, and more. On a tie or an overlap the snapshot is taken:
 * it is hash-checked and does not depend on an instance that has just survived an outage.
 */
export function chooseRestoreSource(input: RestoreSourceInput): RestoreChoice {
  const { cluster } = input;
  const snapshot = newestSnapshot(input.snapshots.filter((s) => s.token === cluster.token));
  const fallback = snapshot === undefined ? cluster.restoreSource : restoreSourceOf(snapshot);
  const survivor = [...input.survivors].sort(
    (a, b) => b.revision - a.revision || compareText(a.instanceId, b.instanceId),
  )[0];
  const snapshotCeiling =
    snapshot === undefined ? fallback?.revision : (snapshot.maxRevision ?? snapshot.revision);
  if (survivor !== undefined && (snapshotCeiling === undefined || survivor.revision > snapshotCeiling)) {
    return {
      kind: "member",
      member: survivor,
      reason:
        fallback === undefined
          ? `no snapshot of generation ${cluster.generation} exists; ${survivor.instanceId} holds revision ${survivor.revision}`
          : `${survivor.instanceId} holds revision ${survivor.revision}, newer than snapshot ${fallback.key} (revision at most ${snapshotCeiling})`,
    };
  }
  if (fallback !== undefined) {
    const newest =
      snapshot === undefined
        ? `the snapshot generation ${cluster.generation} was restored from`
        : "the newest snapshot";
    const others =
      survivor === undefined ? "no member answered" : `the best survivor holds revision ${survivor.revision}`;
    return {
      kind: "snapshot",
      source: fallback,
      reason: `${newest}, ${fallback.key} at revision ${fallback.revision}; ${others}`,
    };
  }
  return {
    kind: "none",
    reason: `no snapshot of generation ${cluster.generation} exists and no member of it answered`,
  };
}

/** Highest revision first, then the latest taken, then by key: every observer picks the same. */
export function newestSnapshot(snapshots: readonly SnapshotRecord[]): SnapshotRecord | undefined {
  return [...snapshots].sort(
    (a, b) => b.revision - a.revision || b.takenAt - a.takenAt || compareText(b.key, a.key),
  )[0];
}

/** Node phases whose instance holds (or is about to hold) the current generation's data. */
const HOLDS_GENERATION_DATA = new Set(["bootstrapping", "joining", "member"]);

/**
 * The initial member set of a new generation, as a bootstrap chooses one: the first `clusterSize`
 * registered nodes in registration order, counting only those whose instance lives in the group and
 * holds no data of the current generation (registered, or left out as not-a-member). A node that ran
 * the old generation's etcd is never part of the new one: its etcd keeps running on old data until
 * the boot script runs again, which on EC2 happens only on a new instance, so it is replaced through
 * the group (`oldGenerationInstances`) and its successor boots into the new generation. Undefined
 * while fewer such nodes live.
 */
export function nextInitialSet(
  policy: Policy,
  nodes: readonly NodeRecord[],
  instances: readonly Instance[],
): readonly InitialMember[] | undefined {
  const live = new Set(instances.filter(isLive).map((i) => i.id));
  const candidates = nodes
    .filter((n) => n.phase !== "removed" && !HOLDS_GENERATION_DATA.has(n.phase) && live.has(n.instanceId))
    .sort((a, b) => a.registration - b.registration || compareText(a.instanceId, b.instanceId));
  if (candidates.length < policy.clusterSize) return undefined;
  return candidates
    .slice(0, policy.clusterSize)
    .map((n) => ({ instanceId: n.instanceId, peerUrl: peerUrlOf(policy, n.privateIp) }));
}

/** Live instances whose node holds the current generation's data, in registration order. */
export function oldGenerationInstances(
  nodes: readonly NodeRecord[],
  instances: readonly Instance[],
): string[] {
  const live = new Set(instances.filter(isLive).map((i) => i.id));
  return nodes
    .filter((n) => HOLDS_GENERATION_DATA.has(n.phase) && live.has(n.instanceId))
    .sort((a, b) => a.registration - b.registration || compareText(a.instanceId, b.instanceId))
    .map((n) => n.instanceId);
}

/**
 * Live instances that still run an older generation's etcd after a recovery opened this one
 * (`openedAt`): their node's phase last changed before it opened. However late one boots, it is
 * replaced through the group, never let back in with its old data.
 */
export function staleGenerationInstances(
  cluster: Pick<ClusterRecord, "openedAt">,
  nodes: readonly NodeRecord[],
  instances: readonly Instance[],
): string[] {
  const { openedAt } = cluster;
  if (openedAt === undefined) return [];
  const stale = nodes.filter((n) => n.phaseSince < openedAt);
  return oldGenerationInstances(stale, instances);
}

export interface RecoveryInput {
  readonly mode: DisasterRecoveryMode;
  /** The current generation; undefined before the first bootstrap. */
  readonly cluster: ClusterRecord | undefined;
  readonly loss: QuorumLossVerdict;
  readonly source: RestoreChoice;
  /** An operator's restore command: restore this snapshot as a new generation, in either mode. */
  readonly operatorRestore?: RestoreSource | undefined;
  readonly policy: Policy;
  readonly nodes: readonly NodeRecord[];
  readonly instances: readonly Instance[];
  /** Epoch milliseconds, read by the caller. */
  readonly now: number;
  /** A fresh cluster token the caller drew, used only if this plan opens a generation. */
  readonly proposedToken: string;
}

export type RecoveryPlan =
  /** Nothing to recover. */
  | { readonly kind: "none"; readonly reason: string }
  /** Stream this survivor's data into S3 (a checked snapshot), record it, and plan again. */
  | { readonly kind: "copy-survivor"; readonly member: Survivor; readonly reason: string }
  /** Raise the alarm and wait: manual mode, or no data to restore from. */
  | { readonly kind: "alarm"; readonly reason: string }
  /** Recovery will open a generation once enough instances are live and registered. */
  | { readonly kind: "wait"; readonly reason: string }
  /** The data to restore is safe in S3, but instances of the old generation hold the group's slots:
   * set them Unhealthy so the group replaces them with instances that can restore. */
  | { readonly kind: "replace-old-nodes"; readonly instances: readonly string[]; readonly reason: string }
  /** Write `cluster` over the current generation with one conditional write. */
  | { readonly kind: "open-generation"; readonly cluster: ClusterRecord; readonly reason: string };

export function recoveryPlan(input: RecoveryInput): RecoveryPlan {
  const { cluster, source, operatorRestore } = input;
  if (cluster === undefined)
    return { kind: "none", reason: "no cluster has formed yet: bootstrap, not recovery" };
  const stale = staleGenerationInstances(cluster, input.nodes, input.instances);
  if (stale.length > 0) {
    return {
      kind: "replace-old-nodes",
      instances: stale,
      reason: `${stale.join(", ")} still run an older generation than generation ${cluster.generation}: replacing them`,
    };
  }
  if (operatorRestore !== undefined) {
    return openGeneration(input, cluster, operatorRestore, `an operator restores ${operatorRestore.key}`);
  }
  if (cluster.state === "forming") {
    const orphaned = orphanedRestoreSource(cluster, input.instances);
    if (orphaned !== undefined) {
      const initial = cluster.initialMembers.map((m) => m.instanceId).join(", ");
      return openGeneration(
        input,
        cluster,
        orphaned,
        `generation ${cluster.generation} never formed and none of its initial members (${initial}) is live`,
      );
    }
    return { kind: "none", reason: `generation ${cluster.generation} is forming: bootstrap's business` };
  }
  if (!input.loss.lost) return { kind: "none", reason: input.loss.reason };
  // Copying a survivor's data into S3 only adds a snapshot: it is done in either mode, so the newest
  // data outlives the instance that holds it while the operator decides.
  if (source.kind === "member") {
    return { kind: "copy-survivor", member: source.member, reason: `quorum lost for good; ${source.reason}` };
  }
  if (source.kind === "none") {
    return {
      kind: "alarm",
      reason: `quorum lost for good and ${source.reason}: a new empty cluster would lose every key, so an operator must decide`,
    };
  }
  if (input.mode === "manual") {
    return {
      kind: "alarm",
      reason: `quorum lost for good (${input.loss.reason}); manual recovery: restore with the restore command (${source.reason})`,
    };
  }
  return openGeneration(input, cluster, source.source, `quorum lost for good; ${source.reason}`);
}

/**
 * The restore source of a recovered generation (`openedAt`) that is still forming and that no one
 * can form any more: none of its initial members' instances is live (their restores failed and the
 * launches were abandoned, or they were terminated). Only the initial set bootstraps a forming
 * generation, and every other instance waits for it, so it is opened again from the same source.
 * An initial member that is merely slow to boot is live (Pending) and keeps the generation.
 */
function orphanedRestoreSource(
  cluster: ClusterRecord,
  instances: readonly Instance[],
): RestoreSource | undefined {
  if (cluster.restoreSource === undefined || cluster.openedAt === undefined) return undefined;
  const live = new Set(instances.filter(isLive).map((i) => i.id));
  if (cluster.initialMembers.some((m) => live.has(m.instanceId))) return undefined;
  return cluster.restoreSource;
}

function openGeneration(
  input: RecoveryInput,
  cluster: ClusterRecord,
  restoreSource: RestoreSource,
  why: string,
): RecoveryPlan {
  const initialMembers = nextInitialSet(input.policy, input.nodes, input.instances);
  const size = input.policy.clusterSize;
  if (initialMembers === undefined) {
    const old = oldGenerationInstances(input.nodes, input.instances);
    const next = cluster.generation + 1;
    if (old.length > 0) {
      return {
        kind: "replace-old-nodes",
        instances: old,
        reason: `${why}; generation ${next} needs ${size} instances without old data, and ${old.join(", ")} ran generation ${cluster.generation}: replacing them`,
      };
    }
    return {
      kind: "wait",
      reason: `${why}; generation ${next} opens once ${size} live instances are registered`,
    };
  }
  return {
    kind: "open-generation",
    cluster: {
      token: input.proposedToken,
      generation: cluster.generation + 1,
      size,
      initialMembers,
      state: "forming",
      restoreSource,
      openedAt: input.now,
    },
    reason: `${why}; generation ${cluster.generation + 1} restores ${restoreSource.key} on ${initialMembers.map((m) => m.instanceId).join(", ")}`,
  };
}
