// The invariants a chaos run must keep, checked from what the run observed (continuously: cluster
// IDs, learners, write outages) and from the end state once the reconciler has settled (members,
// acknowledged writes, lifecycle actions). Each violation names its invariant.
import type { TimedOutAction } from "../local/aws/auto-scaling-group";
import { etcdClient } from "../local/simulator/etcd-client";
import type { Simulator } from "../local/simulator/simulator";
import type { ExpectedTimeout } from "./episodes";
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
}

export interface Verdict {
  readonly violations: Violation[];
  readonly writesVerified: number;
}

export async function checkInvariants(observed: Observed): Promise<Verdict> {
  const { sim, writer, monitor } = observed;
  const violations: Violation[] = [];
  const add = (invariant: InvariantName, detail: string) => violations.push({ invariant, detail });

  if (monitor.clusterIds.size > 1) {
    add(
      "one-cluster-id",
      `members reported ${monitor.clusterIds.size} cluster IDs: ${describeIds(monitor.clusterIds)}`,
    );
  }
  for (const sample of monitor.learnerExcess) add("at-most-one-learner", sample);

  const outage = writer.longestOutage();
  if (outage.toMs - outage.fromMs > QUORUM_OUTAGE_MS) {
    const at = (ms: number) => `${((ms - observed.startedAt) / 1000).toFixed(1)}s`;
    add(
      "no-quorum-loss",
      `no write acknowledged for ${((outage.toMs - outage.fromMs) / 1000).toFixed(1)}s (${at(outage.fromMs)}–${at(outage.toMs)}) while the schedule kept a majority of voters up`,
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

  const { missing, verified } = await readBack(sim, writer);
  if (missing.length > 0) {
    add(
      "acknowledged-writes-readable",
      `${missing.length} of ${writer.acknowledged.size} acknowledged writes missing or changed, e.g. ${missing.slice(0, 3).join(", ")}`,
    );
  }
  return { violations, writesVerified: verified };
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

/** Reads every acknowledged key back with one linearizable range read (retried while etcd settles). */
async function readBack(
  sim: Simulator,
  writer: QuorumWriter,
): Promise<{ missing: string[]; verified: number }> {
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
        .prefix(`${writer.prefix}/`)
        .options({ deadline: new Date(Date.now() + 10_000) })
        .strings();
      const missing = [...writer.acknowledged]
        .filter(([key, value]) => stored[key] !== value)
        .map(([key]) => key);
      return { missing, verified: writer.acknowledged.size - missing.length };
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    } finally {
      client.close();
    }
  }
  const reason = (lastError as Error | undefined)?.message ?? "no member answers";
  return {
    missing: [...writer.acknowledged.keys()].map((key) => `${key} (unreadable: ${reason})`),
    verified: 0,
  };
}

function describeIds(ids: ReadonlyMap<string, string>): string {
  return [...ids].map(([id, url]) => `${id} (first from ${url})`).join(", ");
}
