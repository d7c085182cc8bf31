// Processed lifecycle-action tokens: a handler records each action it finished, so a duplicated
// event is recognised and skipped. Tokens live in their own partition, with a TTL.
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { requireDuration, requireText, requireTime } from "./input";
import { tokenOutcomeFromItem } from "./items";
import { LEDGER_TABLE_SCHEMA } from "./table";
import type { TableAccess } from "./table-access";

const { partitionKey: PK, sortKey: SK, timeToLiveAttribute: TTL } = LEDGER_TABLE_SCHEMA;

export class LifecycleTokens {
  constructor(
    private readonly table: TableAccess,
    private readonly tokenPk: string,
  ) {}

  /**
   * Records that the lifecycle action `token` was handled with `outcome`. Returns true when this
   * call was the first to record it. DynamoDB deletes the record some time after `ttlSeconds`.
   */
  async markProcessed(token: string, outcome: string, now: number, ttlSeconds: number): Promise<boolean> {
    requireText("lifecycle action token", token);
    requireText("outcome", outcome);
    requireTime("now", now);
    requireDuration("token TTL", ttlSeconds);
    return this.table.conditionalWrite(
      "markTokenProcessed",
      async () => {
        await this.table.client.send(
          new PutCommand({
            TableName: this.table.tableName,
            Item: {
              [PK]: this.tokenPk,
              [SK]: token,
              outcome,
              processedAt: now,
              [TTL]: Math.floor(now / 1000) + ttlSeconds,
            },
            ConditionExpression: "attribute_not_exists(#sk)",
            ExpressionAttributeNames: { "#sk": SK },
          }),
        );
        return true;
      },
      async () => false,
    );
  }

  /** The outcome recorded for the lifecycle action `token`, or undefined when none was. */
  async outcome(token: string): Promise<string | undefined> {
    requireText("lifecycle action token", token);
    const item = await this.table.getItem("tokenOutcome", this.tokenPk, token);
    return item === undefined ? undefined : tokenOutcomeFromItem(item);
  }
}
