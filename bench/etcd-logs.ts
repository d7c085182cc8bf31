// What a bootstrap's etcd members' own logs say about where its time went, so that etcd's share is
// told apart from the contenders' (figure 1, both sides):
// - whether a member waited in etcd's check that it is not already a member of a running cluster
//   (`isMemberBootstrapped`, etcd 3.4 and 3.5): before raft starts, it asks every other initial
//   member's peer URL, one after the other, with a fixed 1 s timeout, and a peer that has bound its
//   port but answers nothing costs that second. Read as the time from the log's first line (the
//   process started) to `starting member`, which etcd logs once the check is over;
// - etcd's own formation: from the first member's start to the last member's `published` line,
//   logged once a leader has committed that member's attributes (the first election included).
import { readFile } from "node:fs/promises";

/** Longer than any start without the wait here (tens of ms), shorter than the wait (1 s). */
const WAITED_MS = 500;
/** capnslog's time stamp, etcd 3.4's default logger: `2026-12-06 13:59:44.610123 I | ...`. */
const STAMP = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d+) /;

/** Epoch ms of a member's start, its `starting member` and its `published` lines, where logged. */
export interface MemberLog {
  readonly startedAt: number | undefined;
  readonly startingMemberAt: number | undefined;
  readonly publishedAt: number | undefined;
}

export interface BootstrapLogs {
  /** Members that waited in etcd's bootstrap check. */
  readonly checkWaits: number;
  /** ms from the first member's start to the last one's `published`; undefined when one is missing. */
  readonly formationMs: number | undefined;
}

export function readMemberLog(log: string): MemberLog {
  const lines = log.split("\n");
  // Lines without a stamp (a flag's deprecation warning) come first sometimes.
  const startedAt = lines.map(stampOf).find((at) => at !== undefined);
  const at = (text: string) => {
    const line = lines.find((l) => l.includes(text));
    return line === undefined ? undefined : stampOf(line);
  };
  return { startedAt, startingMemberAt: at("starting member"), publishedAt: at("etcdserver: published") };
}

/** Whether this member's etcd waited in the bootstrap check (a log without the lines: it did not). */
export function waitedInCheck(member: MemberLog): boolean {
  const { startedAt, startingMemberAt } = member;
  return (
    startedAt !== undefined && startingMemberAt !== undefined && startingMemberAt - startedAt >= WAITED_MS
  );
}

/** The members' logs of one bootstrap (a log that cannot be read counts as empty). */
export async function readBootstrapLogs(logFiles: readonly string[]): Promise<BootstrapLogs> {
  const members = (await Promise.all(logFiles.map((file) => readFile(file, "utf8").catch(() => "")))).map(
    readMemberLog,
  );
  const starts = members.map((m) => m.startedAt);
  const published = members.map((m) => m.publishedAt);
  const complete = (values: Array<number | undefined>): values is number[] =>
    values.length > 0 && values.every((v) => v !== undefined);
  return {
    checkWaits: members.filter(waitedInCheck).length,
    formationMs:
      complete(starts) && complete(published) ? Math.max(...published) - Math.min(...starts) : undefined,
  };
}

function stampOf(line: string): number | undefined {
  const match = STAMP.exec(line);
  return match === null ? undefined : Date.parse(`${match[1]}T${match[2]?.slice(0, 12)}Z`);
}
