// etcd's own word that a join went by snapshot, read from the members' logs (etcd 3.4's default
// capnslog lines, as both sides run it): the compaction of the raft log after a snapshot, before the
// clock, and after a join the learner's "received and saved database snapshot" with the leader's
// matching "sent out successfully". A join without them fails the figure rather than be reported as
// one it was not.
import { existsSync, readFileSync } from "node:fs";
import { pollUntil } from "./measure";

const COMPACTED = /compacted raft log at (\d+)/;
/** 3.4.23's wording ("successfully received and saved database snapshot [index: N, from: ID, …]"). */
const RECEIVED = /received and saved database snapshot \[index: (\d+), from: (\w+)/;
const SAVED = /saved database snapshot to disk \[total bytes: (\d+)\]/;
const COMPACT_TIMEOUT_MS = 60_000;

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n") : [];
}

/** Waits until every log shows its raft log compacted after a snapshot. */
export async function waitCompacted(logFiles: readonly string[]): Promise<void> {
  await pollUntil(
    `every member's raft log compacted after a snapshot (${logFiles.join(", ")})`,
    () => logFiles.every((file) => lines(file).some((line) => Number(COMPACTED.exec(line)?.[1] ?? 0) > 1)),
    COMPACT_TIMEOUT_MS,
  );
}

/** "received … (N bytes) from X; X sent it" for the joined member's log, or an error saying what is
 * missing: the joined member must have received a snapshot and one of `senderLogs` sent it. */
export function snapshotEvidence(joinedLog: string, senderLogs: readonly string[]): string {
  const joined = lines(joinedLog);
  const received = joined.map((line) => RECEIVED.exec(line)).find((m) => m !== null);
  if (received == null) {
    throw new Error(
      `the joined member's log ${joinedLog} has no "received and saved database snapshot": it did not catch up by snapshot`,
    );
  }
  const [, index, from] = received;
  const sent = new RegExp(`database snapshot \\[index: ${index}, to: \\w+\\] sent out successfully`);
  if (!senderLogs.some((file) => lines(file).some((line) => sent.test(line)))) {
    throw new Error(`no member's log says the snapshot at index ${index} was "sent out successfully"`);
  }
  const bytes = joined.map((line) => SAVED.exec(line)?.[1]).find((b) => b !== undefined);
  const size = bytes === undefined ? "" : ` of ${(Number(bytes) / 2 ** 20).toFixed(0)} MiB`;
  return `snapshot at index ${index}${size} sent out by ${from}, received and saved by the learner`;
}
