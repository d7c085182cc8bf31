// The ledger's durability records against a real DynamoDB-compatible server: the latest snapshot
// record never moves backwards whatever order writers finish in, and a new generation is opened by
// exactly one of any number of concurrent writers, only over the generation they planned from.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DurabilityLedger } from "../../lambdas/adapters/ledger/durability";
import {
  ClusterGenerationMismatchError,
  InvalidLedgerInputError,
} from "../../lambdas/adapters/ledger/errors";
import { Ledger, type LedgerOptions } from "../../lambdas/adapters/ledger/ledger";
import { restoreSourceOf, type SnapshotRecord } from "../../lambdas/domain/durability";
import type { ClusterRecord } from "../../lambdas/domain/snapshot";
import { LEDGER_TABLE, useLocalLedgers } from "../helpers/ledger";

const NOW = 1_800_000_000_000;

function snapshot(
  generation: number,
  revision: number,
  takenAt = NOW,
  overrides: Partial<SnapshotRecord> = {},
) {
  const record: SnapshotRecord = {
    key: `c/token-g${generation}/${String(revision).padStart(20, "0")}-${takenAt}.db`,
    token: `token-g${generation}`,
    generation,
    revision,
    maxRevision: revision + 3,
    size: 24_608,
    sha256: "0123456789abcdef".repeat(4),
    member: { instanceId: "i-0123456789abcdef0", memberId: "10276657743932975437" },
    takenAt,
    ...overrides,
  };
  return record;
}

function generation1(): ClusterRecord {
  return {
    token: "token-g1",
    generation: 1,
    size: 3,
    initialMembers: ["i-a", "i-b", "i-c"].map((instanceId, i) => ({
      instanceId,
      peerUrl: `https://10.0.1.${i + 1}:2380`,
    })),
    state: "running",
  };
}

function generation2(token: string, source = snapshot(1, 500)): ClusterRecord {
  return {
    token,
    generation: 2,
    size: 3,
    initialMembers: ["i-d", "i-e", "i-f"].map((instanceId, i) => ({
      instanceId,
      peerUrl: `https://10.0.2.${i + 1}:2380`,
    })),
    state: "forming",
    restoreSource: restoreSourceOf(source),
    openedAt: NOW,
  };
}

describe("durability records in the ledger", () => {
  const ledgers = useLocalLedgers();
  let clusters = 0;
  /** Options for a cluster partition no other test uses. */
  const fresh = (): LedgerOptions => {
    clusters += 1;
    return {
      client: ledgers.clients().documentClient,
      tableName: LEDGER_TABLE,
      clusterName: `durability-${clusters}`,
    };
  };

  describe("the latest snapshot", () => {
    test("is undefined before the first, then the record as written", async () => {
      const ledger = new DurabilityLedger(fresh());
      assert.equal(await ledger.latestSnapshot(), undefined);
      const record = snapshot(1, 10);
      assert.deepEqual(await ledger.recordSnapshot(record), { recorded: true, latest: record });
      assert.deepEqual(await ledger.latestSnapshot(), record);
    });

    test("a higher revision replaces it; a lower one never does, and is told which holds", async () => {
      const ledger = new DurabilityLedger(fresh());
      await ledger.recordSnapshot(snapshot(1, 10));
      assert.equal((await ledger.recordSnapshot(snapshot(1, 20))).recorded, true);
      const late = await ledger.recordSnapshot(snapshot(1, 15, NOW + 60_000));
      assert.equal(late.recorded, false);
      assert.equal(late.latest.revision, 20);
    });

    test("the same revision taken later replaces it (an idle cluster); the same record again is no change", async () => {
      const ledger = new DurabilityLedger(fresh());
      await ledger.recordSnapshot(snapshot(1, 10));
      assert.equal((await ledger.recordSnapshot(snapshot(1, 10, NOW + 1))).recorded, true);
      assert.deepEqual(await ledger.recordSnapshot(snapshot(1, 10, NOW + 1)), {
        recorded: true,
        latest: snapshot(1, 10, NOW + 1),
      });
      assert.equal((await ledger.recordSnapshot(snapshot(1, 10, NOW))).recorded, false);
    });

    test("a later generation replaces it even at a lower revision; a late one of an older generation never", async () => {
      const ledger = new DurabilityLedger(fresh());
      await ledger.recordSnapshot(snapshot(1, 900));
      assert.equal((await ledger.recordSnapshot(snapshot(2, 5))).recorded, true);
      assert.equal((await ledger.recordSnapshot(snapshot(1, 1000))).recorded, false);
      assert.equal((await ledger.latestSnapshot())?.generation, 2);
    });

    test("of 12 concurrent writers the highest revision holds, whatever order they finish in", async () => {
      const ledger = new DurabilityLedger(fresh());
      const revisions = [7, 3, 12, 1, 9, 11, 2, 8, 4, 10, 6, 5].map((r) => r * 100);
      const results = await Promise.all(revisions.map((r) => ledger.recordSnapshot(snapshot(1, r))));
      assert.equal((await ledger.latestSnapshot())?.revision, 1200);
      for (const result of results) assert.ok(result.latest.revision >= 100);
      assert.ok(results.some((r) => r.recorded && r.latest.revision === 1200));
    });

    test("keeps a record without an upper bound as it is", async () => {
      const ledger = new DurabilityLedger(fresh());
      const record = snapshot(1, 10, NOW, { maxRevision: undefined });
      await ledger.recordSnapshot(record);
      const { maxRevision: _, ...expected } = record;
      assert.deepEqual(await ledger.latestSnapshot(), expected);
    });

    test("refuses a record it could not read back", async () => {
      const ledger = new DurabilityLedger(fresh());
      await assert.rejects(
        ledger.recordSnapshot(snapshot(1, 10, NOW, { sha256: "not-a-hash" })),
        InvalidLedgerInputError,
      );
      assert.equal(await ledger.latestSnapshot(), undefined);
    });
  });

  describe("a new generation", () => {
    test("opens over the generation planned from, with its restore source, and loadState reads it back", async () => {
      const options = fresh();
      const ledger = new Ledger(options);
      await ledger.fixCluster(generation1());
      const current = (await ledger.loadState()).cluster;
      assert.ok(current !== undefined);
      assert.equal(current.restoreSource, undefined, "a bootstrap's record has none");
      const next = generation2("token-g2");
      assert.deepEqual(await new DurabilityLedger(options).openGeneration(current, next), {
        won: true,
        cluster: next,
      });
      assert.deepEqual((await ledger.loadState()).cluster, next);
      assert.deepEqual((await ledger.markClusterRunning(2)).restoreSource, next.restoreSource);
    });

    test("exactly one of 6 concurrent writers opens it; every one of them sees the winner's record", async () => {
      const options = fresh();
      await new Ledger(options).fixCluster(generation1());
      const generations = new DurabilityLedger(options);
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          generations.openGeneration(generation1(), generation2(`token-g2-${i}`)),
        ),
      );
      const winners = results.filter((r) => r.won);
      assert.equal(winners.length, 1);
      for (const result of results) assert.deepEqual(result.cluster, winners[0]?.cluster);
    });

    test("does not open a generation over one that moved on, and never skips one", async () => {
      const options = fresh();
      await new Ledger(options).fixCluster(generation1());
      const generations = new DurabilityLedger(options);
      const opened = await generations.openGeneration(generation1(), generation2("token-g2"));
      // A writer that planned from generation 1 after generation 2 opened.
      const stale = await generations.openGeneration(generation1(), generation2("token-g2-late"));
      assert.deepEqual(stale, { won: false, cluster: opened.cluster });
      // Same generation number, another token: a ledger restored from a backup, say.
      const replaced = await generations.openGeneration(
        { ...generation1(), token: "token-other" },
        generation2("token-g2-x"),
      );
      assert.equal(replaced.won, false);
      await assert.rejects(
        generations.openGeneration(generation1(), { ...generation2("token-g3"), generation: 3 }),
        InvalidLedgerInputError,
      );
    });

    test("refuses a record that is not a recovered generation", async () => {
      const generations = new DurabilityLedger(fresh());
      const { restoreSource: _, ...empty } = generation2("token-g2");
      await assert.rejects(generations.openGeneration(generation1(), empty), /needs a restore source/);
      await assert.rejects(
        generations.openGeneration(generation1(), generation2("token-g1")),
        /is the current generation's/,
      );
      await assert.rejects(
        generations.openGeneration(generation1(), { ...generation2("token-g2"), state: "running" }),
        /starts forming/,
      );
    });

    test("with no cluster in the ledger there is nothing to recover", async () => {
      await assert.rejects(
        new DurabilityLedger(fresh()).openGeneration(generation1(), generation2("token-g2")),
        ClusterGenerationMismatchError,
      );
    });
  });
  describe("an operator's restore request", () => {
    test("is undefined before the first; a later request replaces the earlier one", async () => {
      const ledger = new DurabilityLedger(fresh());
      assert.equal(await ledger.restoreRequest(), undefined);
      const first = { generation: 1, source: restoreSourceOf(snapshot(1, 100)), requestedAt: NOW };
      assert.deepEqual(await ledger.requestRestore(first), { recorded: true, request: first });
      assert.deepEqual(await ledger.restoreRequest(), first);
      const second = { generation: 1, source: restoreSourceOf(snapshot(1, 200)), requestedAt: NOW + 1 };
      assert.deepEqual(await ledger.requestRestore(second), { recorded: true, request: second });
      assert.deepEqual(await ledger.restoreRequest(), second);
    });

    test("a request made earlier never replaces one made later", async () => {
      const ledger = new DurabilityLedger(fresh());
      const later = { generation: 3, source: restoreSourceOf(snapshot(3, 300)), requestedAt: NOW };
      await ledger.requestRestore(later);
      const delayed = { generation: 3, source: restoreSourceOf(snapshot(3, 400)), requestedAt: NOW - 1 };
      assert.deepEqual(await ledger.requestRestore(delayed), { recorded: false, request: later });
      assert.deepEqual(await ledger.restoreRequest(), later);
      const next = { generation: 4, source: restoreSourceOf(snapshot(3, 300)), requestedAt: NOW + 2 };
      assert.deepEqual(await ledger.requestRestore(next), { recorded: true, request: next });
    });

    test("refuses a request for no generation, naming the field", async () => {
      const request = { generation: 0, source: restoreSourceOf(snapshot(1, 100)), requestedAt: NOW };
      await assert.rejects(new DurabilityLedger(fresh()).requestRestore(request), (e: Error) => {
        assert.ok(e instanceof InvalidLedgerInputError);
        assert.match(e.message, /generation/);
        return true;
      });
    });
  });
});
