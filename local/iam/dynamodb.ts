// DynamoDB's front end (JSON 1.0, `X-Amz-Target: DynamoDB_20120810.<Operation>`): which permissions a
// request needs. Most operations name one table (`dynamodb:GetItem` on `table/<name>`, an index
// query on `table/<name>/index/<index>`); batches need their action on every table they touch;
// transactions are not IAM actions and need the action of each item (PutItem, UpdateItem,
// DeleteItem, ConditionCheckItem, GetItem) on its table.
import { jsonRefusal } from "./denied";
import type { AuthorizationCheck, GateRequest, ServiceFront } from "./front";
import { asRecord, jsonInput, targetOperation } from "./json-request";

export interface DynamoDbFrontOptions {
  readonly region: string;
  readonly account: string;
}

const TARGET_PREFIX = "DynamoDB_20120810.";

/** Item actions of a TransactWriteItems entry, by the entry's key. */
const TRANSACT_WRITE_ACTIONS: Readonly<Record<string, string>> = {
  Put: "PutItem",
  Update: "UpdateItem",
  Delete: "DeleteItem",
  ConditionCheck: "ConditionCheckItem",
};

/** Operations that name their resource by ARN (tags, backups, resource policies) rather than TableName. */
const BY_RESOURCE_ARN = new Set([
  "TagResource",
  "UntagResource",
  "ListTagsOfResource",
  "GetResourcePolicy",
  "PutResourcePolicy",
  "DeleteResourcePolicy",
]);

export function dynamoDbFront(options: DynamoDbFrontOptions): ServiceFront {
  const tableArn = (name: string) =>
    name.startsWith("arn:") ? name : `arn:aws:dynamodb:${options.region}:${options.account}:table/${name}`;
  return {
    signingName: "dynamodb",
    region: options.region,
    needsBody: () => true,
    resolve: (request) => resolve(request, tableArn),
    refuse: (refusal, _request, requestId) =>
      jsonRefusal({ version: "1.0", typePrefix: "com.amazon.coral.service" }, refusal, requestId),
  };
}

function resolve(request: GateRequest, tableArn: (name: string) => string): AuthorizationCheck[] {
  const operation = targetOperation(request, TARGET_PREFIX);
  // Not a DynamoDB call at all: the server answers UnknownOperationException without acting.
  if (operation === undefined) return [];
  const input = jsonInput(request);
  const action = `dynamodb:${operation}`;
  switch (operation) {
    case "BatchGetItem":
    case "BatchWriteItem":
      return tables(Object.keys(asRecord(input.RequestItems)), tableArn).map((resource) => ({
        action,
        resource,
      }));
    case "TransactWriteItems":
      return items(input.TransactItems).flatMap((item) =>
        Object.entries(TRANSACT_WRITE_ACTIONS).flatMap(([key, itemAction]) => {
          const entry = asRecord(item[key]);
          return key in item
            ? [{ action: `dynamodb:${itemAction}`, resource: tableOf(entry, tableArn) }]
            : [];
        }),
      );
    case "TransactGetItems":
      return items(input.TransactItems).map((item) => ({
        action: "dynamodb:GetItem",
        resource: tableOf(asRecord(item.Get), tableArn),
      }));
    case "ListTables":
    case "DescribeLimits":
    case "DescribeEndpoints":
      return [{ action, resource: "*" }];
    default: {
      if (BY_RESOURCE_ARN.has(operation)) {
        return [{ action, resource: typeof input.ResourceArn === "string" ? input.ResourceArn : "*" }];
      }
      const table = tableOf(input, tableArn);
      const index = typeof input.IndexName === "string" ? input.IndexName : undefined;
      return [{ action, resource: index === undefined || table === "*" ? table : `${table}/index/${index}` }];
    }
  }
}

/**
 * The table's ARN, or `*` when the request names none: the caller is then allowed only if it may do
 * the action on some table, and the server refuses the malformed request itself.
 */
function tableOf(input: Record<string, unknown>, tableArn: (name: string) => string): string {
  return typeof input.TableName === "string" && input.TableName !== "" ? tableArn(input.TableName) : "*";
}

function tables(names: readonly string[], tableArn: (name: string) => string): readonly string[] {
  return names.length === 0 ? ["*"] : names.map(tableArn);
}

function items(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.map(asRecord) : [];
}
