// The ledger's access to its DynamoDB table: every call goes through `request` or
// `conditionalWrite`, the one place DynamoDB errors are translated.
import { type DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { isConditionFailed, translateDynamoDbError } from "./errors";
import { LEDGER_TABLE_SCHEMA } from "./table";

const { partitionKey: PK, sortKey: SK } = LEDGER_TABLE_SCHEMA;

/**
 * Optimistic writes (read, then write conditional on what was read) retry this often before
 * giving up with a retryable error; each retry means another writer changed the item meanwhile.
 */
export const OPTIMISTIC_ATTEMPTS = 5;

export class TableAccess {
  constructor(
    readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  key(pk: string, sk: string): Record<string, string> {
    return { [PK]: pk, [SK]: sk };
  }

  async getItem(operation: string, pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    const result = await this.request(operation, () =>
      this.client.send(
        new GetCommand({ TableName: this.tableName, Key: this.key(pk, sk), ConsistentRead: true }),
      ),
    );
    return result.Item;
  }

  async request<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      throw translateDynamoDbError(err, operation);
    }
  }

  /** Runs `send`; when its condition fails, runs `onConditionFailed` instead. */
  async conditionalWrite<T, F>(
    operation: string,
    send: () => Promise<T>,
    onConditionFailed: () => Promise<F>,
  ): Promise<T | F> {
    try {
      return await send();
    } catch (err) {
      if (!isConditionFailed(err)) throw translateDynamoDbError(err, operation);
    }
    // Outside the catch: errors of the follow-up (a read, usually) are translated by its own call.
    return onConditionFailed();
  }
}
