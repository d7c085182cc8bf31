// One dynalite server per test file with the ledger table, and a fresh cluster partition (a new
// Ledger) per test, so tests in a file share the server but never each other's items.
import { after, before } from "node:test";
import { Ledger } from "../../lambdas/adapters/ledger/ledger";
import { type LocalDynamoDbClients, localDynamoDbClients } from "../../local/dynamodb/clients";
import { createLedgerTable } from "../../local/dynamodb/ledger-table";
import { type LocalDynamoDb, startLocalDynamoDb } from "../../local/dynamodb/server";

export const LEDGER_TABLE = "ledger";

export interface LocalLedgers {
  /** A Ledger over a cluster partition no other test uses. */
  fresh(): Ledger;
  /** The document client, for tests that read or corrupt items directly. */
  clients(): LocalDynamoDbClients;
}

/** Registers the server's start and stop with the enclosing suite's before/after hooks. */
export function useLocalLedgers(): LocalLedgers {
  let server: LocalDynamoDb | undefined;
  let clients: LocalDynamoDbClients | undefined;
  let clusters = 0;
  before(async () => {
    server = await startLocalDynamoDb();
    clients = localDynamoDbClients(server.endpoint);
    await createLedgerTable(clients.client, LEDGER_TABLE);
  });
  after(async () => {
    clients?.destroy();
    await server?.stop();
  });
  const started = (): LocalDynamoDbClients => {
    if (clients === undefined) throw new Error("the local DynamoDB server has not started");
    return clients;
  };
  return {
    fresh: () => {
      clusters += 1;
      return new Ledger({
        client: started().documentClient,
        tableName: LEDGER_TABLE,
        clusterName: `c${clusters}`,
      });
    },
    clients: started,
  };
}
