// SDK clients for a local DynamoDB-compatible server: the real clients, pointed at the endpoint,
// with dummy credentials (the local server checks that requests are signed, not by whom).
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

export interface LocalDynamoDbClients {
  readonly client: DynamoDBClient;
  readonly documentClient: DynamoDBDocumentClient;
  /** Closes the connections of both clients. */
  destroy(): void;
}

export function localDynamoDbClients(endpoint: string): LocalDynamoDbClients {
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const documentClient = DynamoDBDocumentClient.from(client);
  return { client, documentClient, destroy: () => client.destroy() };
}
