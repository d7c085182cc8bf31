// Creates the ledger table on a local DynamoDB-compatible server with the key schema the CDK stack
// deploys (lambdas/adapters/ledger/table.ts), so the simulator and the tests use the same layout.
import {
  CreateTableCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import { LEDGER_TABLE_SCHEMA } from "../../lambdas/adapters/ledger/table";

export interface CreatedLedgerTable {
  /**
   * Whether the server accepted the TTL setting. dynalite does not implement UpdateTimeToLive, so
   * locally nothing expires; only processed lifecycle tokens carry a TTL, and keeping them longer is
   * harmless.
   */
  readonly timeToLive: boolean;
}

export interface LedgerTableSchema {
  readonly partitionKey: string;
  readonly sortKey?: string | undefined;
  readonly timeToLiveAttribute?: string | undefined;
}

/** Creates the table with `schema`: the stack's (from the template) in the simulator, the code's in tests. */
export async function createLedgerTable(
  client: DynamoDBClient,
  tableName: string,
  schema: LedgerTableSchema = LEDGER_TABLE_SCHEMA,
): Promise<CreatedLedgerTable> {
  const { partitionKey, sortKey, timeToLiveAttribute } = schema;
  const keys = sortKey === undefined ? [partitionKey] : [partitionKey, sortKey];
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: keys.map((name) => ({ AttributeName: name, AttributeType: "S" })),
      KeySchema: keys.map((name, i) => ({ AttributeName: name, KeyType: i === 0 ? "HASH" : "RANGE" })),
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1 }, { TableName: tableName });
  if (timeToLiveAttribute === undefined) return { timeToLive: false };
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: timeToLiveAttribute, Enabled: true },
      }),
    );
    return { timeToLive: true };
  } catch (err) {
    if ((err as Error).name === "UnknownOperationException") return { timeToLive: false };
    throw err;
  }
}
