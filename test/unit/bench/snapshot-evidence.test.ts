// The snapshot evidence of figure 2b read from log lines as etcd 3.4.23 writes them (copied from a
// learner joining a compacted 3-member cluster).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { snapshotEvidence } from "../../../bench/snapshot-evidence";

const dir = mkdtempSync(join(tmpdir(), "snapshot-evidence-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function log(name: string, lines: readonly string[]): string {
  const file = join(dir, name);
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

const learner = log("learner.log", [
  "2026-12-04 23:36:13.418988 I | rafthttp: receiving database snapshot [index: 6510, from: ac57fc929f06f438, raft message size: 10 kB]",
  "2026-12-04 23:36:13.434170 I | snap: saved database snapshot to disk [total bytes: 1073741824]",
  "2026-12-04 23:36:13.434219 I | rafthttp: successfully received and saved database snapshot [index: 6510, from: ac57fc929f06f438, raft message size: 10 kB, db size: 1.1 GB, took: 15.285783ms]",
]);
const leader = log("leader.log", [
  "2026-12-04 23:36:13.417103 I | rafthttp: start to send database snapshot [index: 6510, to 44638dd06ad0be3, size 1.1 GB]...",
  "2026-12-04 23:36:13.434423 I | rafthttp: database snapshot [index: 6510, to: 44638dd06ad0be3] sent out successfully",
]);
const follower = log("follower.log", ["2026-12-04 23:36:02.703146 I | embed: snapshot count = 100000"]);

test("a learner that received the snapshot a member sent is evidence, with its index, size and sender", () => {
  assert.equal(
    snapshotEvidence(learner, [follower, leader]),
    "snapshot at index 6510 of 1024 MiB sent out by ac57fc929f06f438, received and saved by the learner",
  );
});

test("a learner replayed the raft log (no snapshot received) fails, naming its log", () => {
  const replayed = log("replayed.log", ["2026-12-04 23:36:13.448031 I | etcdserver: published local member"]);
  assert.throws(
    () => snapshotEvidence(replayed, [leader]),
    /replayed\.log has no "received and saved database snapshot"/,
  );
});

test("a snapshot no member says it sent fails, naming the index", () => {
  assert.throws(
    () => snapshotEvidence(learner, [follower]),
    /snapshot at index 6510 was "sent out successfully"/,
  );
});
