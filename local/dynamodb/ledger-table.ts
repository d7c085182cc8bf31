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

export async function createLedgerTable(
  client: DynamoDBClient,
  tableName: string,
): Promise<CreatedLedgerTable> {
  const { partitionKey, sortKey, timeToLiveAttribute } = LEDGER_TABLE_SCHEMA;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: partitionKey, AttributeType: "S" },
        { AttributeName: sortKey, AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: partitionKey, KeyType: "HASH" },
        { AttributeName: sortKey, KeyType: "RANGE" },
      ],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1 }, { TableName: tableName });
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
