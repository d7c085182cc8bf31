// The invariants a chaos run must keep, checked from what the run observed (continuously: cluster
// IDs, learners, write outages) and from the end state once the reconciler has settled (members,
// acknowledged writes, lifecycle actions). Each violation names its invariant. A run that lost a
// majority for good (majority-lost) is judged by generation: one cluster ID per ledger generation
// instead of one in all, writes up to the last snapshot before the loss readable, and the writes
// after it that recovery could not bring back counted (lost after snapshot), not violations.
import type { TimedOutAction } from "../local/aws/auto-scaling-group";
import { etcdClient } from "../local/simulator/etcd-client";
import type { Simulator } from "../local/simulator/simulator";
import type { ExpectedTimeout } from "./episodes";
import { generationsWithTwoClusterIds, judgeReadBack } from "./loss-invariants";
import type { ClusterMonitor } from "./monitor";
import type { QuorumWriter } from "./writer";

export const INVARIANTS = [
  "one-cluster-id",
  "acknowledged-writes-readable",
  "no-quorum-loss",
  "members-equal-in-service",
  "lifecycle-actions-completed",
  "at-most-one-learner",
  // Checked around each network fault episode (network-episode.ts).
  "no-removal-for-healed-partition",
  "no-action-on-partial-view",
  // Checked during each ledger outage (control-plane-episodes.ts).
  "no-change-without-ledger",
  // A majority lost for good (majority-lost): checked from the monitor's samples and the end state.
  "one-cluster-id-per-generation",
  "pre-snapshot-writes-readable",
] as const;

export type InvariantName = (typeof INVARIANTS)[number];

export interface Violation {
  readonly invariant: InvariantName;
  readonly detail: string;
}

/** Longer than an election plus a frozen member's call deadline: a write outage this long is a lost quorum. */
export const QUORUM_OUTAGE_MS = 20_000;

export interface Observed {
  readonly sim: Simulator;
  readonly writer: QuorumWriter;
  readonly monitor: ClusterMonitor;
  readonly expectedTimeouts: readonly ExpectedTimeout[];
  /** Why the end state did not converge, if it did not. */
  readonly divergence: string | undefined;
  readonly startedAt: number;
  /** How many majority-lost episodes lost a majority for good (each opens a generation). @default 0 */
  readonly majoritiesLost?: number;
}

export interface Verdict {
  readonly violations: Violation[];
  readonly writesVerified: number;
  /** Acknowledged after the last snapshot before a majority was lost, and not brought back. */
  readonly writesLostAfterSnapshot: number;
}

/** The writer's latest refusal, for a stretch without writes to say what it met. */
function lastFailure(writer: QuorumWriter): string {
  return writer.lastFailure === undefined ? "" : `; the latest write refused: ${writer.lastFailure}`;
}

export async function checkInvariants(observed: Observed): Promise<Verdict> {
  const { sim, writer, monitor } = observed;
  const violations: Violation[] = [];
  const add = (invariant: InvariantName, detail: string) => violations.push({ invariant, detail });

  // A majority lost for good opens a new generation, with a new cluster ID of its own.
  if ((observed.majoritiesLost ?? 0) === 0 && monitor.clusterIds.size > 1) {
    add(
      "one-cluster-id",
      `members reported ${monitor.clusterIds.size} cluster IDs: ${describeIds(monitor.clusterIds)}`,
    );
  }
  for (const detail of generationsWithTwoClusterIds(monitor.idsByGeneration))
    add("one-cluster-id-per-generation", detail);
  for (const sample of monitor.learnerExcess) add("at-most-one-learner", sample);

  const outage = writer.longestOutage();
  if (outage.toMs - outage.fromMs - outage.excusedMs > QUORUM_OUTAGE_MS) {
    const at = (ms: number) => `${((ms - observed.startedAt) / 1000).toFixed(1)}s`;
    const excused =
      outage.excusedMs > 0
        ? `, ${(outage.excusedMs / 1000).toFixed(1)}s of it a majority lost for good,`
        : "";
    add(
      "no-quorum-loss",
      `no write acknowledged for ${((outage.toMs - outage.fromMs) / 1000).toFixed(1)}s (${at(outage.fromMs)}–${at(outage.toMs)}${excused}) while the schedule kept a majority of voters up${lastFailure(writer)}`,
    );
  }

  if (observed.divergence !== undefined) add("members-equal-in-service", observed.divergence);

  const unexpected = unexpectedTimeouts(sim.timedOutActions(), observed.expectedTimeouts);
  for (const action of unexpected) {
    add(
      "lifecycle-actions-completed",
      `${action.hookName} for ${action.instanceId} timed out (${action.result})`,
    );
  }

  const { stored, unreadable } = await readBack(sim, writer.prefix);
  const judged = judgeReadBack(writer, stored);
  const why = unreadable === undefined ? "" : ` (unreadable: ${unreadable})`;
  if (judged.missing.length > 0) {
    add(
      "acknowledged-writes-readable",
      `${judged.missing.length} of ${writer.acknowledged.size} acknowledged writes missing or changed${why}, e.g. ${judged.missing.slice(0, 3).join(", ")}`,
    );
  }
  if (judged.preSnapshotMissing.length > 0) {
    add(
      "pre-snapshot-writes-readable",
      `${judged.preSnapshotMissing.length} of ${writer.preSnapshot.size} writes acknowledged up to the last snapshot before the loss missing or changed${why}, e.g. ${judged.preSnapshotMissing.slice(0, 3).join(", ")}`,
    );
  }
  return {
    violations,
    writesVerified: judged.verified,
    writesLostAfterSnapshot: judged.lostAfterSnapshot.length,
  };
}

function unexpectedTimeouts(
  timedOut: readonly TimedOutAction[],
  expected: readonly ExpectedTimeout[],
): TimedOutAction[] {
  const left = [...expected];
  return timedOut.filter((action) => {
    const i = left.findIndex(
      (e) =>
        e.instanceId === action.instanceId && e.hookName === action.hookName && e.result === action.result,
    );
    if (i < 0) return true;
    left.splice(i, 1);
    return false;
  });
}

/** Reads every key under `prefix` back with one linearizable range read (retried while etcd settles);
 * nothing, and why, when no member answers. */
async function readBack(
  sim: Simulator,
  prefix: string,
): Promise<{ stored: Record<string, string>; unreadable?: string }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const urls = sim.clientUrls();
    if (urls.length === 0) {
      lastError = new Error("no instance of the group runs etcd");
      break;
    }
    const client = etcdClient(urls, await sim.etcdTls());
    try {
      const stored = await client
        .getAll()
        .prefix(`${prefix}/`)
        .options({ deadline: new Date(Date.now() + 10_000) })
        .strings();
      return { stored };
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    } finally {
      client.close();
    }
  }
  return { stored: {}, unreadable: (lastError as Error | undefined)?.message ?? "no member answers" };
}

function describeIds(ids: ReadonlyMap<string, string>): string {
  return [...ids].map(([id, url]) => `${id} (first from ${url})`).join(", ");
}
