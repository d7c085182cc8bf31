// Lifecycle-action idempotency and error translation of the ledger against a real
// DynamoDB-compatible server.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import {
  InvalidLedgerInputError,
  LedgerCorruptItemError,
  LedgerRequestError,
  LedgerUnavailableError,
} from "../../lambdas/adapters/ledger/errors";
import { Ledger } from "../../lambdas/adapters/ledger/ledger";
import { type LocalDynamoDbClients, localDynamoDbClients } from "../../local/dynamodb/clients";
import { createLedgerTable } from "../../local/dynamodb/ledger-table";
import { type LocalDynamoDb, startLocalDynamoDb } from "../../local/dynamodb/server";

const TABLE = "ledger";
const NOW = 1_700_000_000_000;

describe("ledger lifecycle tokens and errors", () => {
  let server: LocalDynamoDb;
  let clients: LocalDynamoDbClients;
  let ledger: Ledger;

  before(async () => {
    server = await startLocalDynamoDb();
    clients = localDynamoDbClients(server.endpoint);
    await createLedgerTable(clients.client, TABLE);
    ledger = new Ledger({ client: clients.documentClient, tableName: TABLE, clusterName: "tokens" });
  });

  after(async () => {
    clients?.destroy();
    await server?.stop();
  });

  test("records a lifecycle token once and remembers its outcome", async () => {
    assert.equal(await ledger.tokenOutcome("token-1"), undefined);
    assert.equal(await ledger.markTokenProcessed("token-1", "CONTINUE", NOW, 86_400), true);
    assert.equal(await ledger.markTokenProcessed("token-1", "ABANDON", NOW + 1, 86_400), false);
    assert.equal(await ledger.tokenOutcome("token-1"), "CONTINUE");
  });

  test("lets exactly one of 5 concurrent handlers record the same token", async () => {
    const firsts = await Promise.all(
      Array.from({ length: 5 }, () => ledger.markTokenProcessed("token-2", "CONTINUE", NOW, 60)),
    );
    assert.equal(firsts.filter(Boolean).length, 1);
  });

  test("keeps tokens out of the state the engine reads", async () => {
    await ledger.markTokenProcessed("token-3", "CONTINUE", NOW, 60);
    assert.deepEqual(await ledger.loadState(), {
      cluster: undefined,
      nodes: [],
      lock: undefined,
      lockVersion: 0,
    });
  });

  test("names the item when a node record read back is corrupt", async () => {
    await clients.documentClient.send(
      new PutCommand({
        TableName: TABLE,
        Item: {
          pk: "cluster#tokens",
          sk: "node#i-bad",
          instanceId: "i-bad",
          privateIp: "127.0.1.1",
          registration: 1,
          phase: "dancing",
          phaseSince: NOW,
        },
      }),
    );
    await assert.rejects(ledger.getNode("i-bad"), (err) => {
      assert.ok(err instanceof LedgerCorruptItemError);
      assert.match(err.message, /pk=cluster#tokens sk=node#i-bad/);
      assert.match(err.message, /phase/);
      return true;
    });
  });

  test("refuses an empty token without writing", async () => {
    await assert.rejects(ledger.markTokenProcessed("", "CONTINUE", NOW, 60), InvalidLedgerInputError);
  });

  test("reports a missing table as a request error that retrying will not fix", async () => {
    const missing = new Ledger({
      client: clients.documentClient,
      tableName: "no-such-table",
      clusterName: "x",
    });
    await assert.rejects(missing.loadState(), (err) => {
      assert.ok(err instanceof LedgerRequestError);
      assert.equal(err.retryable, false);
      assert.match(err.message, /ResourceNotFoundException/);
      return true;
    });
  });

  test("reports an unreachable server as retryable", async () => {
    const gone = await startLocalDynamoDb();
    await gone.stop();
    const unreachable = localDynamoDbClients(gone.endpoint);
    try {
      const orphan = new Ledger({ client: unreachable.documentClient, tableName: TABLE, clusterName: "x" });
      await assert.rejects(orphan.getNode("i-a"), (err) => {
        assert.ok(err instanceof LedgerUnavailableError);
        assert.equal(err.retryable, true);
        return true;
      });
    } finally {
      unreachable.destroy();
    }
  });
});
