// An in-memory stand-in for the ledger's upkeep item (adapters/ledger/upkeep-runs.ts), for tests of
// the upkeep run that are about etcd or the run's logic rather than DynamoDB: the same lease rules
// (free, expired or already ours; a version bumped on each acquisition; saves fenced by it).

import { UpkeepLeaseLostError } from "../../lambdas/adapters/ledger/errors";
import type { UpkeepLease } from "../../lambdas/adapters/ledger/upkeep-runs";
import type { UpkeepProgressPort } from "../../lambdas/app/etcd-upkeep";
import { NEW_RUN, type UpkeepRun } from "../../lambdas/domain/etcd-upkeep";

export interface MemoryUpkeepProgress extends UpkeepProgressPort {
  /** The progress and the lease as stored now. */
  stored(): { run: UpkeepRun; lease: UpkeepLease | undefined };
}

export function memoryUpkeepProgress(initial: UpkeepRun = NEW_RUN): MemoryUpkeepProgress {
  let run = initial;
  let lease: UpkeepLease | undefined;
  let version = 0;
  return {
    stored: () => ({ run, lease }),
    progress: async () => run,
    acquire: async (holder, ttlMs, now) => {
      if (lease !== undefined && lease.expiresAt > now && lease.holder !== holder) return undefined;
      version += 1;
      lease = { holder, expiresAt: now + ttlMs, version };
      return { lease, run };
    },
    save: async (held, next, ttlMs, now) => {
      if (lease?.holder !== held.holder || lease.version !== held.version) {
        throw new UpkeepLeaseLostError(held.holder, held.version);
      }
      run = next;
      lease = { ...lease, expiresAt: now + ttlMs };
      return lease;
    },
    release: async (held) => {
      if (lease?.holder === held.holder && lease.version === held.version) lease = undefined;
    },
  };
}
