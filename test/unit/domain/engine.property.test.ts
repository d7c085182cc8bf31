// Properties every decision must keep, over 10,000 random snapshots each.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { initialSet } from "../../../lambdas/domain/bootstrap";
import { changesMembership, type Decision } from "../../../lambdas/domain/decision";
import { decide } from "../../../lambdas/domain/engine";
import { quorum } from "../../../lambdas/domain/quorum";
import type { Member } from "../../../lambdas/domain/snapshot";
import { sameLedgerPairArb, snapshotArb } from "./arbitraries";

const RUNS = { numRuns: 10_000 };

function healthyVoters(members: readonly Member[]): number {
  return members.filter((m) => !m.isLearner && m.started && m.healthy).length;
}

function voters(members: readonly Member[]): number {
  return members.filter((m) => !m.isLearner).length;
}

/** etcd's member list after the decision is applied, with the new learner not yet started. */
function apply(members: readonly Member[], d: Decision): Member[] {
  switch (d.kind) {
    case "remove":
      return members.filter((m) => m.id !== d.member.id);
    case "join":
      return [
        ...members.filter((m) => m.id !== d.removeFirst?.id),
        {
          id: "new",
          name: "",
          peerUrls: [d.add.peerUrl],
          clientUrls: [],
          isLearner: true,
          started: false,
          healthy: false,
        },
      ];
    case "promote":
      return members.map((m) => (m.id === d.member.id ? { ...m, isLearner: false } : m));
    default:
      return [...members];
  }
}

describe("membership engine properties", () => {
  test("no decision leaves fewer healthy voters than quorum", () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        const d = decide(s);
        if (d.kind === "bootstrap" || !changesMembership(d)) return;
        assert.ok(
          healthyVoters(s.members) >= quorum(voters(s.members)),
          `changed a cluster without quorum: ${d.reason}`,
        );
        const after = apply(s.members, d);
        const healthy = healthyVoters(after);
        assert.ok(
          healthy >= quorum(voters(after)),
          `${d.kind} leaves ${healthy} healthy of ${voters(after)}`,
        );
        if (d.kind === "join") assert.ok(healthy >= quorum(voters(after) + 1), "added below the new quorum");
        const removed = d.kind === "remove" ? d.member : d.kind === "join" ? d.removeFirst : undefined;
        if (removed !== undefined && !removed.isLearner) {
          assert.ok(
            healthy >= quorum(s.policy.clusterSize),
            `${d.kind} removes a voter and leaves ${healthy} healthy, below the configured quorum`,
          );
        }
      }),
      RUNS,
    );
  });

  test("no decision adds a second learner", () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        const d = decide(s);
        if (d.kind !== "join") return;
        const learners = apply(s.members, d).filter((m) => m.isLearner);
        assert.equal(learners.length, 1, `join with ${learners.length - 1} learner(s) already present`);
      }),
      RUNS,
    );
  });

  test("bootstrap yields the same initial set for every observer of the same ledger", () => {
    fc.assert(
      fc.property(sameLedgerPairArb, ([a, b]) => {
        assert.deepEqual(initialSet(a), initialSet(b));
        const da = decide(a);
        const db = decide(b);
        if (da.kind === "bootstrap" && db.kind === "bootstrap")
          assert.deepEqual(da.initialMembers, db.initialMembers);
        for (const d of [da, db]) {
          if (d.kind === "bootstrap" && a.ledger.cluster !== undefined)
            assert.equal(d.token, a.ledger.cluster.token);
        }
      }),
      RUNS,
    );
  });

  test("a node is never told to bootstrap while the ledger says the cluster runs", () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        if (decide(s).kind === "bootstrap") assert.notEqual(s.ledger.cluster?.state, "running");
      }),
      RUNS,
    );
  });

  test("no membership change while another actor holds the lock", () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        const lock = s.ledger.lock;
        const foreign = lock !== undefined && lock.holder !== s.actor && lock.expiresAt > s.now;
        const d = decide(s);
        if (foreign && d.kind !== "bootstrap") assert.equal(changesMembership(d), false, d.reason);
      }),
      RUNS,
    );
  });

  test("decisions are deterministic", () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        assert.deepEqual(decide(structuredClone(s)), decide(s));
      }),
      RUNS,
    );
  });
});
