// What a reconcile pass does for etcd beyond its membership, once the repairs are done: the health
// pass (a voter whose etcd stays down on a live instance is replaced through the group, one at a
// time, never below quorum, never on a minority view) and etcd's upkeep (NOSPACE recovery on every
// pass; defragmentation on free space when the maintenance schedule runs the pass). Each reads etcd
// afresh: the pass's own snapshot was taken before its repairs and lifecycle work.
import type { EtcdMembership } from "../adapters/etcd";
import type { LedgerContents } from "../adapters/ledger/ledger";
import { DEFAULT_UPKEEP_POLICY } from "../domain/etcd-upkeep";
import type { StatusReport } from "../domain/member-health";
import type { Member, Snapshot } from "../domain/snapshot";
import { isRetryable } from "../errors";
import { runEtcdUpkeep, type UpkeepRunOutcome } from "./etcd-upkeep";
import { etcdEndpoints } from "./load-snapshot";
import { type HealthPassOutcome, runMemberHealth } from "./member-health";
import type { Runtime } from "./ports";

export interface UpkeepOptions {
  /** `schedule`: the maintenance schedule's pass, which also defragments on free space. */
  readonly trigger: "reconcile" | "schedule";
  /** No upkeep step starts after this (epoch ms): one defragmentation must still fit before the timeout. */
  readonly deadline: number;
}

/** Room the upkeep lease keeps beyond one defragmentation. */
const LEASE_MARGIN_MS = 60_000;

/**
 * The health pass: one status call per member gives both who answers and whom it follows as leader;
 * `marked` are the instances this pass has set Unhealthy already (one replacement per pass).
 */
export async function checkMemberHealth(
  rt: Runtime,
  snapshot: Snapshot,
  ledger: LedgerContents,
  marked: readonly string[],
): Promise<HealthPassOutcome | undefined> {
  if (snapshot.ledger.cluster === undefined) return undefined;
  const endpoints = etcdEndpoints(rt, snapshot.instances, ledger);
  if (endpoints.length === 0) return undefined;
  const { members, reports } = await withEtcd(rt, endpoints, readMembersAndLeaders(rt));
  const markedUnhealthy = [
    ...snapshot.instances.filter((i) => i.healthStatus === "Unhealthy").map((i) => i.id),
    ...marked,
  ];
  return runMemberHealth(
    {
      ledger: rt.memberHealth,
      markUnhealthy: (instanceId) => rt.group.markUnhealthy(instanceId),
      signals: rt.signals.health,
      log: (message, details) => rt.logger.info(message, details),
    },
    {
      snapshot: { ...snapshot, members, now: rt.now() },
      reports,
      markedUnhealthy: [...new Set(markedUnhealthy)],
      policy: rt.config.health,
    },
  );
}

/** One upkeep run under the ledger's upkeep lease (see app/etcd-upkeep.ts). */
export async function maintainEtcd(
  rt: Runtime,
  snapshot: Snapshot,
  ledger: LedgerContents,
  options: UpkeepOptions,
): Promise<UpkeepRunOutcome | undefined> {
  if (snapshot.ledger.cluster === undefined) return undefined;
  const endpoints = etcdEndpoints(rt, snapshot.instances, ledger);
  if (endpoints.length === 0) return undefined;
  const maintenance = rt.maintenance(endpoints);
  try {
    return await withEtcd(rt, endpoints, (etcd) =>
      runEtcdUpkeep(
        {
          progress: rt.upkeepRuns,
          actor: rt.actor(),
          maintenance,
          readMembers: async () => (await readMembersAndLeaders(rt)(etcd)).members,
          lockHeld: async () => {
            const { lock } = await rt.ledger.loadState();
            return lock !== undefined && lock.expiresAt > rt.now();
          },
          signals: rt.signals.upkeep,
          log: (message, details) => rt.logger.info(message, details),
          now: () => rt.now(),
        },
        {
          trigger: options.trigger,
          policy: { ...DEFAULT_UPKEEP_POLICY, quotaBackendBytes: rt.config.storage.quotaBackendBytes },
          deadline: options.deadline,
          leaseTtlMs: rt.config.defragmentTimeoutMs + LEASE_MARGIN_MS,
        },
      ),
    );
  } finally {
    maintenance.close();
  }
}

/** The members and their leaders; none when no voter answers (the decisions then hold). */
function readMembersAndLeaders(
  rt: Runtime,
): (etcd: EtcdMembership) => Promise<{ members: Member[]; reports: StatusReport[] }> {
  return async (etcd) => {
    try {
      return await etcd.readMembersAndLeaders();
    } catch (error) {
      if (!isRetryable(error)) throw error;
      rt.logger.warn("no etcd member answered", { error });
      return { members: [], reports: [] };
    }
  };
}

async function withEtcd<T>(
  rt: Runtime,
  endpoints: readonly string[],
  use: (etcd: EtcdMembership) => Promise<T>,
): Promise<T> {
  const etcd = rt.etcd(endpoints);
  try {
    return await use(etcd);
  } finally {
    etcd.close();
  }
}
