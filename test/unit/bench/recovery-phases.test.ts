import assert from "node:assert/strict";
import { test } from "node:test";
import { restorePhases } from "../../../bench/recovery-phases";
import { nodeApi } from "./node-api-record";

test("a recovery's phases follow the last node to be ready from the generation's opening", () => {
  const records = [
    // Before the generation opened: a long poll answered "wait", left out.
    nodeApi("i-0late", "/config", 0, 900),
    // Held while the loss was detected, answered with the restore and the certificates once the
    // generation opened.
    nodeApi("i-0late", "/config", 900, 1500, 80),
    nodeApi("i-0early", "/config", 900, 1100),
    nodeApi("i-0early", "/ready", 2000, 2200),
    nodeApi("i-0late", "/ready", 3000, 3300),
  ];
  assert.deepEqual(restorePhases(records, 1000, 3100, 3400), {
    "opened → restore and certificates handed (the config long poll answers)": 500,
    "download, check, restore, etcd start and health": 1500,
    "seen serving (the bench's poll)": 100,
    "of which simulator: cold starts": 80,
    "after serving: ready report (complete; 1 request) ends": 200,
    "after serving: InService": 300,
  });
});

test("a recovery whose last node made no config request after the opening is refused by name", () => {
  const records = [nodeApi("i-0late", "/config", 100, 900), nodeApi("i-0late", "/ready", 3000, 3300)];
  assert.throws(() => restorePhases(records, 1000, 3100, 3400), /i-0late.*no config and ready/);
});
