// Fills a running cluster before a clock starts, the same way on both sides: `mib` MiB of 512 KiB
// values (random, so nothing on the way can compress them; well under etcd's 1.5 MiB
// --max-request-bytes), then small writes until the raft index passes etcd's --snapshot-count
// (neither the stack nor the floor sets it, so 3.4's default of 100000 holds on both). Past it every
// member snapshots and compacts its raft log to the last 5000 entries, so a member that joins later
// needs entries the leader no longer has and is sent the database as a snapshot.
import { randomBytes } from "node:crypto";
import type { Etcd3 } from "etcd3";
import { retry } from "./measure";

/** etcd 3.4's default --snapshot-count, which neither side changes. */
export const SNAPSHOT_COUNT = 100_000;
/** Raft entries past SNAPSHOT_COUNT: the few the cluster adds on its own must not be counted on. */
const INDEX_MARGIN = 1000;
export const VALUE_BYTES = 512 * 1024;
/** Puts in flight at once: enough for etcd to batch small ones into few fsyncs, few enough of the
 * large ones that a loaded machine's etcd does not time them out (it then answers "request timed
 * out" and the put is retried). */
const LARGE_CONCURRENCY = 4;
const SMALL_CONCURRENCY = 64;
const CALL_MS = 30_000;
/** How long one put may keep failing (an election, etcd's own request timeout under load). */
const PUT_RETRY_MS = 120_000;
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
  await inParallel(values, LARGE_CONCURRENCY, (i) => {
    const key = `/bench/fill/${String(i).padStart(6, "0")}`;
    return retry(`put ${key}`, () => client.put(key).value(value).options(options()).exec(), PUT_RETRY_MS);
  });
  const index = async () =>
    Number((await retry("status", () => client.maintenance.status(options()), PUT_RETRY_MS)).raftIndex);
  const ticks = Math.max(0, SNAPSHOT_COUNT + INDEX_MARGIN - (await index()));
  await inParallel(ticks, SMALL_CONCURRENCY, (i) =>
    retry(
      "put /bench/fill/tick",
      () => client.put("/bench/fill/tick").value(i).options(options()).exec(),
      PUT_RETRY_MS,
    ),
  );
  return { values, ticks, raftIndex: await index() };
}

/** Runs `step(0 … count-1)`, `concurrency` at a time. */
async function inParallel(
  count: number,
  concurrency: number,
  step: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await step(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
