// dynalite behind the IAM gate proxy, driven by the real DynamoDB client with credentials the
// simulator issued: the control plane's role reads and writes its ledger table and nothing else, a
// transaction needs each item's action on each table, bad signatures are refused as DynamoDB refuses
// them, and the operator may do everything.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
} from "@aws-sdk/client-dynamodb";
import { type LocalDynamoDb, startLocalDynamoDb } from "../../local/dynamodb/server";
import { CredentialStore, type Credentials } from "../../local/iam/credentials";
import { dynamoDbFront } from "../../local/iam/dynamodb";
import { createGate } from "../../local/iam/gate";
import { type GateProxy, startGateProxy } from "../../local/iam/gate-proxy";
import { administrator, PolicySet } from "../../local/iam/policies";

const ACCOUNT = "123456789012";
const REGION = "us-east-1";
const LEDGER = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/ledger`;
const CONTROL_PLANE_ROLE = `arn:aws:iam::${ACCOUNT}:role/EtcdAsg-NodeApiRole`;

let dynamodb: LocalDynamoDb;
let proxy: GateProxy;
const store = new CredentialStore({ account: ACCOUNT });
const clients: DynamoDBClient[] = [];

function clientAs(credentials: Credentials): DynamoDBClient {
  const client = new DynamoDBClient({
    endpoint: proxy.endpoint,
    region: REGION,
    credentials,
    maxAttempts: 1,
  });
  clients.push(client);
  return client;
}

async function refusal(send: Promise<unknown>): Promise<Error & { $metadata: { httpStatusCode?: number } }> {
  return send.then(
    () => assert.fail("the call was served"),
    (error: unknown) => error as Error & { $metadata: { httpStatusCode?: number } },
  );
}

before(async () => {
  dynamodb = await startLocalDynamoDb();
  const policies = new PolicySet({
    roles: [
      {
        roleArn: CONTROL_PLANE_ROLE,
        policies: [
          {
            name: "ReadWriteLedger",
            document: {
              Version: "2012-10-17",
              Statement: [
                {
                  Effect: "Allow",
                  Action: [
                    "dynamodb:ConditionCheckItem",
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:Query",
                  ],
                  Resource: LEDGER,
                },
              ],
            },
          },
        ],
      },
    ],
    users: [administrator(store.operator.principal.arn)],
  });
  proxy = await startGateProxy({
    gate: createGate({ callers: store, policies }),
    front: dynamoDbFront({ region: REGION, account: ACCOUNT }),
    upstream: dynamodb.endpoint,
  });
  const operator = clientAs(store.operator.credentials);
  for (const TableName of ["ledger", "other"]) {
    await operator.send(
      new CreateTableCommand({
        TableName,
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
  }
});

after(async () => {
  for (const client of clients) client.destroy();
  await proxy.stop();
  await dynamodb.stop();
});

describe("dynalite behind the IAM gate", () => {
  test("serves the control plane's reads and writes of its ledger", async () => {
    const controlPlane = clientAs(store.assumeRole(CONTROL_PLANE_ROLE, "node-api"));
    await controlPlane.send(
      new PutItemCommand({ TableName: "ledger", Item: { pk: { S: "cluster" }, v: { N: "1" } } }),
    );
    const item = await controlPlane.send(
      new GetItemCommand({ TableName: "ledger", Key: { pk: { S: "cluster" } } }),
    );
    assert.equal(item.Item?.v?.N, "1");
  });

  test("refuses another table with AccessDeniedException naming the action, the caller and the table", async () => {
    const controlPlane = clientAs(store.assumeRole(CONTROL_PLANE_ROLE, "node-api"));
    const error = await refusal(
      controlPlane.send(new GetItemCommand({ TableName: "other", Key: { pk: { S: "cluster" } } })),
    );
    assert.equal(error.name, "AccessDeniedException");
    assert.equal(error.$metadata.httpStatusCode, 400);
    assert.equal(
      error.message,
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/EtcdAsg-NodeApiRole/node-api is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/other because no identity-based policy allows the dynamodb:GetItem action`,
    );
  });

  test("refuses a transaction that writes a table the role may not, and writes nothing", async () => {
    const controlPlane = clientAs(store.assumeRole(CONTROL_PLANE_ROLE, "node-api"));
    const error = await refusal(
      controlPlane.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: "ledger", Item: { pk: { S: "lock" } } } },
            { Put: { TableName: "other", Item: { pk: { S: "lock" } } } },
          ],
        }),
      ),
    );
    assert.equal(error.name, "AccessDeniedException");
    assert.match(
      error.message,
      /dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table\/other /,
    );
    const ledger = await clientAs(store.operator.credentials).send(
      new GetItemCommand({ TableName: "ledger", Key: { pk: { S: "lock" } } }),
    );
    assert.equal(ledger.Item, undefined);
  });

  test("refuses a wrong secret with InvalidSignatureException and a key nobody issued with UnrecognizedClientException", async () => {
    const issued = store.assumeRole(CONTROL_PLANE_ROLE, "node-api");
    const wrongSecret = await refusal(
      clientAs({ ...issued, secretAccessKey: `${issued.secretAccessKey}x` }).send(
        new GetItemCommand({ TableName: "ledger", Key: { pk: { S: "cluster" } } }),
      ),
    );
    assert.equal(wrongSecret.name, "InvalidSignatureException");
    const unknown = await refusal(
      clientAs({ accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "x" }).send(
        new GetItemCommand({ TableName: "ledger", Key: { pk: { S: "cluster" } } }),
      ),
    );
    assert.equal(unknown.name, "UnrecognizedClientException");
    assert.equal(unknown.message, "The security token included in the request is invalid.");
    assert.equal(proxy.refused >= 2, true);
  });

  test("lets the operator do everything, deleting a table included", async () => {
    const operator = clientAs(store.operator.credentials);
    await operator.send(new PutItemCommand({ TableName: "other", Item: { pk: { S: "x" } } }));
    await operator.send(new DeleteTableCommand({ TableName: "other" }));
  });
});
