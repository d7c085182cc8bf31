// Fills a running cluster before a clock starts, the same way on both sides: `mib` MiB of 512 KiB
// values (random, so nothing on the way can compress them; well under etcd's 1.5 MiB
// --max-request-bytes), then small writes until the raft index passes etcd's --snapshot-count
// (neither the stack nor the floor sets it, so 3.4's default of 100000 holds on both). Past it every
// member snapshots and compacts its raft log to the last 5000 entries, so a member that joins later
// needs entries the leader no longer has and is sent the database as a snapshot.
import { randomBytes } from "node:crypto";
import type { Etcd3 } from "etcd3";

/** etcd 3.4's default --snapshot-count, which neither side changes. */
export const SNAPSHOT_COUNT = 100_000;
/** Raft entries past SNAPSHOT_COUNT: the few the cluster adds on its own must not be counted on. */
const INDEX_MARGIN = 1000;
export const VALUE_BYTES = 512 * 1024;
/** Puts in flight at once: enough for etcd to batch them into few fsyncs. */
const CONCURRENCY = 64;
const CALL_MS = 30_000;
const options = () => ({ deadline: new Date(Date.now() + CALL_MS) });

export interface Filled {
  /** 512 KiB values written. */
  readonly values: number;
  /** Small writes to pass the snapshot count. */
  readonly ticks: number;
  readonly raftIndex: number;
}

export async function fillCluster(client: Etcd3, mib: number): Promise<Filled> {
  if (!Number.isInteger(mib) || mib < 1)
    throw new RangeError(`the fill must be a whole number of MiB ≥ 1, got ${mib}`);
  const values = Math.ceil((mib * 1024 * 1024) / VALUE_BYTES);
  const value = randomBytes(VALUE_BYTES);
  await inParallel(values, (i) =>
    client
      .put(`/bench/fill/${String(i).padStart(6, "0")}`)
      .value(value)
      .options(options())
      .exec(),
  );
  const index = async () => Number((await client.maintenance.status(options())).raftIndex);
  const ticks = Math.max(0, SNAPSHOT_COUNT + INDEX_MARGIN - (await index()));
  await inParallel(ticks, (i) => client.put("/bench/fill/tick").value(i).options(options()).exec());
  return { values, ticks, raftIndex: await index() };
}

/** Runs `step(0 … count-1)`, CONCURRENCY at a time. */
async function inParallel(count: number, step: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await step(next++);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, worker));
}
