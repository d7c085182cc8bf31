// One run of etcd upkeep (issue 16), not wired yet: read every member's storage status and the
// alarms, ask the upkeep decision for one step, apply it, read again, until the decision is idle or
// holds, or the run's budget is spent. The reconciler runs it every pass with trigger `reconcile`
// (NOSPACE recovery only); a maintenance schedule runs it with trigger `schedule` (defragmentation
// on free space as well).
//
// A run acts only under the ledger's upkeep lease (one run at a time, so one member defragmented at
// a time whichever reconcilers overlap), taken when the first decision is a step: a pass with
// nothing to do writes nothing. NOSPACE recovery's progress is loaded from the ledger and saved after
// each step; a disarm clears it.
import type { EtcdMaintenance } from "../adapters/etcd/maintenance";
import type { UpkeepLease } from "../adapters/ledger/upkeep-runs";
import {
  decideUpkeep,
  NEW_RUN,
  type UpkeepDecision,
  type UpkeepInput,
  type UpkeepPolicy,
  type UpkeepRun,
  type UpkeepStep,
} from "../domain/etcd-upkeep";
import type { Member } from "../domain/snapshot";
import { isRetryable } from "../errors";

export interface UpkeepSignalsPort {
  /** Every read: gauges EtcdAlarmNospace and EtcdAlarmCorrupt (members with the alarm raised). */
  alarms(counts: UpkeepDecision["alarmCounts"]): void;
  /** A step applied: metrics EtcdCompactions, EtcdDefragmentations, EtcdNospaceDisarmed. */
  applied(step: Exclude<UpkeepStep, { kind: "hold" | "idle" }>): void;
  /** The run ended on a hold: metric EtcdUpkeepHeld +1 and a warn line with the reason. */
  held(reason: string): void;
}

/** The ledger's upkeep item (adapters/ledger/upkeep-runs.ts). */
export interface UpkeepProgressPort {
  progress(): Promise<UpkeepRun>;
  acquire(
    holder: string,
    ttlMs: number,
    now: number,
  ): Promise<{ lease: UpkeepLease; run: UpkeepRun } | undefined>;
  save(lease: UpkeepLease, run: UpkeepRun, ttlMs: number, now: number): Promise<UpkeepLease>;
  release(lease: UpkeepLease): Promise<void>;
}

export interface UpkeepPorts {
  readonly progress: UpkeepProgressPort;
  /** Who runs: the lease's holder. */
  readonly actor: string;
  /** Over the members' client URLs (mutual TLS, as root); the caller closes it. */
  readonly maintenance: Pick<EtcdMaintenance, "probe" | "alarms" | "compact" | "defragment" | "disarm">;
  /** etcd's member list with this moment's health (EtcdMembership.readMembers). */
  readonly readMembers: () => Promise<Member[]>;
  /** Someone holds the membership lock now (the ledger's lock, unexpired). */
  readonly lockHeld: () => Promise<boolean>;
  readonly signals: UpkeepSignalsPort;
  readonly log: (message: string, details: Record<string, unknown>) => void;
  readonly now: () => number;
}

export interface UpkeepRunOptions {
  readonly trigger: UpkeepInput["trigger"];
  readonly policy: UpkeepPolicy;
  /** No new step starts after this (epoch ms): leave room for one defragmentation before the Lambda's timeout. */
  readonly deadline: number;
  /** Steps at most: a compaction, one defragmentation per member and a disarm. @default 10 */
  readonly maxSteps?: number;
  /** The lease's term: longer than one step (a defragmentation's timeout) with room to spare. */
  readonly leaseTtlMs: number;
}

export interface UpkeepRunOutcome {
  readonly applied: readonly UpkeepStep[];
  /** The decision the run ended on (idle or hold), or the last one when the budget ran out. */
  readonly last: UpkeepDecision;
  /** Another run held the lease: this one did nothing. */
  readonly leaseHeldElsewhere: boolean;
}

export async function runEtcdUpkeep(
  ports: UpkeepPorts,
  options: UpkeepRunOptions,
): Promise<UpkeepRunOutcome> {
  const applied: UpkeepStep[] = [];
  const maxSteps = options.maxSteps ?? 10;
  let run = await ports.progress.progress();
  let lease: UpkeepLease | undefined;
  try {
    for (;;) {
      const decision = decideUpkeep(await read(ports, options, run));
      ports.signals.alarms(decision.alarmCounts);
      const { step } = decision;
      const spent = applied.length >= maxSteps || ports.now() >= options.deadline;
      if (step.kind === "idle" || step.kind === "hold" || spent) {
        if (step.kind === "hold") ports.signals.held(step.reason);
        ports.log("etcd upkeep", { step: step.kind, reason: step.reason, applied: applied.length });
        return { applied, last: decision, leaseHeldElsewhere: false };
      }
      if (lease === undefined) {
        const taken = await ports.progress.acquire(ports.actor, options.leaseTtlMs, ports.now());
        if (taken === undefined) {
          ports.log("etcd upkeep: another run holds the lease", { step: step.kind });
          return { applied, last: decision, leaseHeldElsewhere: true };
        }
        lease = taken.lease;
        // The progress as the lease guards it: another run may have moved it since it was read.
        if (!sameRun(taken.run, run)) {
          run = taken.run;
          continue;
        }
      }
      ports.log("etcd upkeep step", { step });
      run = await apply(ports, step, run);
      applied.push(step);
      ports.signals.applied(step);
      lease = await ports.progress.save(lease, run, options.leaseTtlMs, ports.now());
    }
  } finally {
    if (lease !== undefined) await ports.progress.release(lease);
  }
}

/** Applies one step and returns the recovery's progress after it. */
async function apply(ports: UpkeepPorts, step: UpkeepStep, run: UpkeepRun): Promise<UpkeepRun> {
  switch (step.kind) {
    case "compact": {
      const outcome = await ports.maintenance.compact(step.revision);
      // A newer compaction leaves every size in use stale again: the recovery starts over from it.
      return {
        compactedRevision: step.revision,
        compactionFreedHistory: outcome === "compacted",
        defragmented: [],
      };
    }
    case "defragment":
      await ports.maintenance.defragment(step.endpoint);
      return run.defragmented.includes(step.memberId)
        ? run
        : { ...run, defragmented: [...run.defragmented, step.memberId] };
    case "disarm":
      await ports.maintenance.disarm(step.alarms);
      return NEW_RUN;
    default:
      return run;
  }
}

function sameRun(a: UpkeepRun, b: UpkeepRun): boolean {
  return (
    a.compactedRevision === b.compactedRevision &&
    a.compactionFreedHistory === b.compactionFreedHistory &&
    a.defragmented.length === b.defragmented.length &&
    a.defragmented.every((id) => b.defragmented.includes(id))
  );
}

async function read(ports: UpkeepPorts, options: UpkeepRunOptions, run: UpkeepRun): Promise<UpkeepInput> {
  const members = await ports.readMembers();
  const urls = members.flatMap((m) => m.clientUrls.slice(0, 1));
  const [probes, alarms, lockHeld] = await Promise.all([
    urls.length === 0 ? Promise.resolve([]) : ports.maintenance.probe(urls),
    // An alarm list no member answered holds the run (the decision says so) rather than failing the
    // pass; any other failure is a fault to report.
    ports.maintenance.alarms().catch((error: unknown) => {
      if (!isRetryable(error)) throw error;
      ports.log("etcd alarm list unreadable", { error });
      return undefined;
    }),
    ports.lockHeld(),
  ]);
  return {
    trigger: options.trigger,
    policy: options.policy,
    members,
    storage: probes.flatMap((p) => (p.answered ? [p.status] : [])),
    alarms,
    lockHeld,
    run,
  };
}
