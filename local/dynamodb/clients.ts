// SDK clients for a local DynamoDB-compatible server: the real clients, pointed at the endpoint,
// with dummy credentials (dynalite checks that requests are signed, not by whom) unless the caller
// passes its own (the simulator's IAM gate checks who signed).
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

export interface LocalDynamoDbClients {
  readonly client: DynamoDBClient;
  readonly documentClient: DynamoDBDocumentClient;
  /** Closes the connections of both clients. */
  destroy(): void;
}

export function localDynamoDbClients(
  endpoint: string,
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string } = {
    accessKeyId: "local",
    secretAccessKey: "local",
  },
): LocalDynamoDbClients {
  const client = new DynamoDBClient({ endpoint, region: "us-east-1", credentials });
  const documentClient = DynamoDBDocumentClient.from(client);
  return { client, documentClient, destroy: () => client.destroy() };
}
