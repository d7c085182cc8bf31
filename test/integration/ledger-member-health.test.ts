// Member health and etcd upkeep in the ledger against a real DynamoDB-compatible server: sightings
// that never move backwards, a replacement record that only one of several reconcilers can claim,
// the upkeep lease and NOSPACE recovery's progress, and items that share the cluster's partition
// without disturbing the membership state.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { LedgerCorruptItemError, UpkeepLeaseLostError } from "../../lambdas/adapters/ledger/errors";
import { clusterPartition } from "../../lambdas/adapters/ledger/items";
import { Ledger } from "../../lambdas/adapters/ledger/ledger";
import { MemberHealthLedger, sightingSortKey } from "../../lambdas/adapters/ledger/member-health";
import { UpkeepRunLedger } from "../../lambdas/adapters/ledger/upkeep-runs";
import { NEW_RUN, type UpkeepRun } from "../../lambdas/domain/etcd-upkeep";
import type { HealthSighting, ReplacementRecord } from "../../lambdas/domain/member-health";
import { LEDGER_TABLE, useLocalLedgers } from "../helpers/ledger";

const NOW = 1_700_000_000_000;

function sighting(
  instanceId: string,
  observedAt: number,
  overrides: Partial<HealthSighting> = {},
): HealthSighting {
  return {
    instanceId,
    memberId: "1001",
    observedAt,
    unhealthySince: undefined,
    lastUnhealthyAt: undefined,
    lastHealthyAt: observedAt,
    lastSeenWithLeaderAt: observedAt,
    ...overrides,
  };
}

function replacement(instanceId: string, since = NOW): ReplacementRecord {
  return { instanceId, memberId: "1002", since, reason: `${instanceId} has not answered` };
}

describe("member health in the ledger", () => {
  const ledgers = useLocalLedgers();
  let clusters = 0;
  const fresh = () => {
    clusters += 1;
    const clusterName = `health${clusters}`;
    const options = { client: ledgers.clients().documentClient, tableName: LEDGER_TABLE, clusterName };
    return {
      health: new MemberHealthLedger(options),
      upkeep: new UpkeepRunLedger(options),
      ledger: new Ledger(options),
      clusterName,
    };
  };

  test("starts empty", async () => {
    assert.deepEqual(await fresh().health.load(), { sightings: [], replacement: undefined });
  });

  test("stores sightings as the decision wrote them, absent times left absent", async () => {
    const { health } = fresh();
    const silent = sighting("i-0b", NOW, {
      unhealthySince: NOW - 60_000,
      lastUnhealthyAt: NOW,
      lastHealthyAt: undefined,
    });
    await health.applySightings([
      { kind: "put", sighting: sighting("i-0a", NOW) },
      { kind: "put", sighting: silent },
    ]);
    assert.deepEqual((await health.load()).sightings, [sighting("i-0a", NOW), silent]);
  });

  test("an older pass never overwrites a newer one, and a later pass does", async () => {
    const { health } = fresh();
    await health.applySightings([{ kind: "put", sighting: sighting("i-0a", NOW) }]);
    await health.applySightings([
      {
        kind: "put",
        sighting: sighting("i-0a", NOW - 1000, { unhealthySince: NOW - 1000, lastUnhealthyAt: NOW - 1000 }),
      },
    ]);
    assert.deepEqual((await health.load()).sightings, [sighting("i-0a", NOW)]);
    await health.applySightings([{ kind: "put", sighting: sighting("i-0a", NOW + 1000) }]);
    assert.deepEqual((await health.load()).sightings, [sighting("i-0a", NOW + 1000)]);
  });

  test("forgets a member's record, unless a later pass wrote it", async () => {
    const { health } = fresh();
    await health.applySightings([
      { kind: "put", sighting: sighting("i-0a", NOW) },
      { kind: "put", sighting: sighting("i-0b", NOW) },
    ]);
    await health.applySightings([
      { kind: "forget", instanceId: "i-0a", observedAt: NOW + 1 },
      { kind: "forget", instanceId: "i-0b", observedAt: NOW - 1 },
      { kind: "forget", instanceId: "i-0c", observedAt: NOW },
    ]);
    assert.deepEqual(
      (await health.load()).sightings.map((s) => s.instanceId),
      ["i-0b"],
    );
  });

  test("of five reconcilers starting different replacements at once, exactly one wins", async () => {
    const { health } = fresh();
    const results = await Promise.all(
      ["i-01", "i-02", "i-03", "i-04", "i-05"].map((id) => health.startReplacement(replacement(id))),
    );
    const winners = results.filter((r) => r.started);
    assert.equal(winners.length, 1);
    const held = (await health.load()).replacement;
    assert.deepEqual(winners[0]?.current, held);
    for (const loser of results.filter((r) => !r.started)) assert.deepEqual(loser.current, held);
  });

  test("starting the same replacement again is allowed and keeps the first time and reason", async () => {
    const { health } = fresh();
    const first = replacement("i-0a", NOW);
    await health.startReplacement(first);
    const again = await health.startReplacement({ ...replacement("i-0a", NOW + 130_000), reason: "again" });
    assert.deepEqual(again, { started: true, current: first });
  });

  test("the same instance with another member ID is another replacement", async () => {
    const { health } = fresh();
    await health.startReplacement(replacement("i-0a"));
    const other = await health.startReplacement({ ...replacement("i-0a"), memberId: "2002" });
    assert.equal(other.started, false);
  });

  test("finishing clears the record; a second finish and a stale finish change nothing; the next start wins", async () => {
    const { health } = fresh();
    const first = replacement("i-0a", NOW);
    await health.startReplacement(first);
    assert.equal(await health.finishReplacement({ ...first, since: NOW - 1 }), false);
    assert.equal(await health.finishReplacement(first), true);
    assert.equal(await health.finishReplacement(first), false);
    assert.equal((await health.load()).replacement, undefined);
    const next = replacement("i-0b", NOW + 1000);
    assert.deepEqual(await health.startReplacement(next), { started: true, current: next });
    assert.equal(await health.finishReplacement(first), false);
    assert.deepEqual((await health.load()).replacement, next);
  });

  test("health items share the cluster's partition without disturbing its membership state", async () => {
    const { health, ledger } = fresh();
    await ledger.registerNode("i-0a", "10.0.0.1", NOW);
    await health.applySightings([{ kind: "put", sighting: sighting("i-0a", NOW) }]);
    await health.startReplacement(replacement("i-0a"));
    const state = await ledger.loadState();
    assert.deepEqual(
      state.nodes.map((n) => n.instanceId),
      ["i-0a"],
    );
    assert.equal(state.lock, undefined);
  });

  test("a sighting item of the wrong shape is reported as corrupt, naming its key", async () => {
    const { health, clusterName } = fresh();
    const key = { pk: clusterPartition(clusterName), sk: sightingSortKey("i-0a") };
    await ledgers.clients().documentClient.send(
      new PutCommand({
        TableName: LEDGER_TABLE,
        Item: { ...key, instanceId: "i-0a", memberId: "x", observedAt: -1 },
      }),
    );
    await assert.rejects(health.load(), (error) => {
      assert.ok(error instanceof LedgerCorruptItemError);
      assert.deepEqual(error.key, key);
      return true;
    });
  });

  const TTL = 180_000;
  const progressed: UpkeepRun = {
    compactedRevision: 500,
    compactionFreedHistory: true,
    defragmented: ["1002"],
  };

  test("upkeep: no progress at first; the lease goes to one of five runs at once", async () => {
    const { upkeep } = fresh();
    assert.deepEqual(await upkeep.progress(), NEW_RUN);
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => upkeep.acquire(`reconcile:${n}`, TTL, NOW)));
    assert.equal(results.filter((r) => r !== undefined).length, 1);
  });

  test("upkeep: progress saved under the lease outlives it, and the next run starts from it", async () => {
    const { upkeep } = fresh();
    const first = await upkeep.acquire("reconcile:a", TTL, NOW);
    assert.ok(first);
    const renewed = await upkeep.save(first.lease, progressed, TTL, NOW + 1000);
    assert.equal(renewed.expiresAt, NOW + 1000 + TTL);
    await upkeep.release(renewed);
    assert.deepEqual(await upkeep.progress(), progressed);
    const second = await upkeep.acquire("reconcile:b", TTL, NOW + 2000);
    assert.deepEqual(second?.run, progressed);
    assert.equal(second?.lease.version, first.lease.version + 1);
    await upkeep.save(second.lease, NEW_RUN, TTL, NOW + 3000);
    assert.deepEqual(await upkeep.progress(), NEW_RUN);
  });

  test("upkeep: a run whose lease ran out and was taken over cannot save over its successor", async () => {
    const { upkeep } = fresh();
    const stale = await upkeep.acquire("reconcile:a", TTL, NOW);
    assert.ok(stale);
    assert.equal(await upkeep.acquire("reconcile:b", TTL, NOW + 1000), undefined);
    const taken = await upkeep.acquire("reconcile:b", TTL, NOW + TTL);
    assert.ok(taken);
    await upkeep.save(taken.lease, progressed, TTL, NOW + TTL + 1);
    await assert.rejects(upkeep.save(stale.lease, NEW_RUN, TTL, NOW + TTL + 2), UpkeepLeaseLostError);
    await upkeep.release(stale.lease);
    assert.deepEqual(await upkeep.progress(), progressed);
    assert.equal(await upkeep.acquire("reconcile:c", TTL, NOW + TTL + 3), undefined);
  });
});
