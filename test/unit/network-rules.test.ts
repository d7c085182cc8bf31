// The nftables text of network faults (chaos/network/rules.ts): which packets an edge selects, how a
// fault marks them, and the refusals of faults that would select nothing or everything.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  controlPlaneIdentity,
  IDENTITY_UID_BASE,
  InvalidIdentityError,
  nodeIdentity,
  uidForAddress,
} from "../../chaos/network/identity";
import {
  actionStatement,
  dropMark,
  edgeMatches,
  faultChainScript,
  InvalidFaultError,
  NFT_COMMENT_MAX,
  outChainScript,
} from "../../chaos/network/rules";

const a = nodeIdentity("a", "127.0.9.11", 2379, 2380);
const b = nodeIdentity("b", "127.0.9.12", 30001, 30002);
const lambdas = controlPlaneIdentity("127.0.9");

test("gives each address its own UID and the block's control plane host 0", () => {
  assert.equal(uidForAddress("127.0.9.11"), IDENTITY_UID_BASE + 9 * 256 + 11);
  assert.equal(lambdas.uid, IDENTITY_UID_BASE + 9 * 256);
  assert.throws(() => uidForAddress("10.0.0.1"), InvalidIdentityError);
  assert.throws(() => uidForAddress("127.0.9.0"), InvalidIdentityError);
});

test("selects packets from a to b both on connections a opened and on replies to connections b opened", () => {
  assert.deepEqual(edgeMatches({ from: a, to: b }), [
    `meta skuid ${a.uid} ct direction original ip daddr 127.0.9.12 th dport { 30001, 30002 }`,
    `meta skuid ${a.uid} ct direction reply ct mark ${b.uid}`,
  ]);
});

test("reaches a client-only group (the Lambda workers) through its connections' tag alone", () => {
  assert.deepEqual(edgeMatches({ from: a, to: lambdas }), [
    `meta skuid ${a.uid} ct direction reply ct mark ${lambdas.uid}`,
  ]);
});

test("leaves a node's traffic to itself alone when it talks to anyone", () => {
  assert.deepEqual(edgeMatches({ from: a, to: "any" }), [
    `meta skuid ${a.uid} ct direction original ip daddr != 127.0.9.11`,
    `meta skuid ${a.uid} ct direction reply ct mark != ${a.uid}`,
  ]);
  assert.deepEqual(edgeMatches({ from: "any", to: a }), [
    `meta skuid != ${a.uid} ct direction original ip daddr 127.0.9.11 th dport { 2379, 2380 }`,
    `meta skuid != ${a.uid} ct direction reply ct mark ${a.uid}`,
  ]);
});

test("refuses edges that would select nothing or everything", () => {
  assert.throws(() => edgeMatches({ from: "any", to: "any" }), InvalidFaultError);
  assert.throws(() => edgeMatches({ from: a, to: a }), InvalidFaultError);
  const fault = (action: Parameters<typeof actionStatement>[0]) => ({
    id: 1,
    description: "x",
    edges: [{ from: a, to: b }],
    action,
  });
  for (const action of [
    { kind: "drop", probability: 0 },
    { kind: "drop", probability: 1.5 },
    { kind: "delay", ms: 0, jitterMs: 0 },
    { kind: "delay", ms: 10, jitterMs: 11 },
    { kind: "delay", ms: 500, jitterMs: 200 },
  ] as const) {
    assert.throws(() => faultChainScript("t", fault(action), 7), InvalidFaultError, JSON.stringify(action));
  }
  assert.throws(
    () => faultChainScript("t", { ...fault({ kind: "drop", probability: 1 }), edges: [] }, 7),
    InvalidFaultError,
  );
});

test("marks drops with the tag and the drop bit, sampled when partial, and delays with their time", () => {
  assert.equal(dropMark(7), 0x07800000);
  assert.equal(
    actionStatement({ kind: "drop", probability: 0.25 }, 7),
    "numgen random mod 1000 < 250 counter meta mark set meta mark or 0x07800000",
  );
  assert.equal(
    actionStatement({ kind: "delay", ms: 100, jitterMs: 20 }, 7),
    "counter meta mark set meta mark and 0x00800000 or 0x07140064",
  );
});

test("jumps to delays shortest first, so that the longest of two overlapping delays is the one kept", () => {
  const rules = (id: number, ms: number) => ({
    id,
    description: `${ms}`,
    edges: [{ from: a, to: "any" as const }],
    action: { kind: "delay" as const, ms, jitterMs: 0 },
  });
  const drop = {
    id: 3,
    description: "d",
    edges: [{ from: a, to: b }],
    action: { kind: "drop" as const, probability: 1 },
  };
  const jumps = outChainScript("t", [rules(1, 200), rules(2, 50), drop])
    .split("\n")
    .filter((line) => line.includes("jump"))
    .map((line) => line.split(" ").pop());
  assert.deepEqual(jumps, ["f3", "f2", "f1"]);
});

test("chaos seed 13045: a fault's rule comment stays within nft's 128 characters when its description is longer (a 7-node split)", () => {
  const fault = {
    id: 1,
    description: `partition ${Array.from({ length: 7 }, (_, i) => `i-0ef30f804952cb5b${i}`).join(",")}`,
    edges: [{ from: a, to: b }],
    action: { kind: "drop", probability: 1 } as const,
  };
  const comments = [...faultChainScript("t", fault, 7).matchAll(/comment (".*")$/gm)].map(
    (m) => JSON.parse(m[1] ?? '""') as string,
  );
  assert.ok(comments.length > 0, "no rule with a comment");
  for (const comment of comments) {
    assert.ok(comment.length <= NFT_COMMENT_MAX, `${comment.length} characters: ${comment}`);
    assert.ok(comment.startsWith("fault 1: partition i-0ef30f804952cb5b0,"), comment);
  }
});
