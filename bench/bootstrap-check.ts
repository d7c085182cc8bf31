// Whether a new member's etcd waited in its check that it is not already a member of a running
// cluster (`isMemberBootstrapped`, etcd 3.4 and 3.5): before raft starts, it asks every other initial
// member's peer URL, one after the other, with a fixed 1 s timeout, and a peer that has bound its
// port but answers nothing costs that second. Read from the member's log: its first line (the
// process started) and `starting member`, which etcd logs once the check is over. Shown beside a
// bootstrap figure so that time spent in etcd's check is told apart from the contenders' own.
import { readFile } from "node:fs/promises";

/** Longer than any start without the wait here (tens of ms), shorter than the wait (1 s). */
const WAITED_MS = 500;
/** capnslog's time stamp, etcd 3.4's default logger: `2026-12-06 13:59:44.610123 I | ...`. */
const STAMP = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d+) /;

/** ms from the log's first line to `starting member`; undefined when it has no such line yet. */
export function msToStartingMember(log: string): number | undefined {
  const lines = log.split("\n");
  // Lines without a stamp (a flag's deprecation warning) come first sometimes.
  const first = lines.map(stampOf).find((at) => at !== undefined);
  const started = lines.find((line) => line.includes("starting member"));
  const at = started === undefined ? undefined : stampOf(started);
  return first === undefined || at === undefined ? undefined : at - first;
}

/** How many of these members' etcds waited in the check (a log that cannot be read counts as not). */
export async function membersThatWaited(logFiles: readonly string[]): Promise<number> {
  const logs = await Promise.all(logFiles.map((file) => readFile(file, "utf8").catch(() => "")));
  return logs.filter((log) => (msToStartingMember(log) ?? 0) >= WAITED_MS).length;
}

function stampOf(line: string): number | undefined {
  const match = STAMP.exec(line);
  return match === null ? undefined : Date.parse(`${match[1]}T${match[2]?.slice(0, 12)}Z`);
}
