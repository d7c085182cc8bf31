// Starts and stops a DynamoDB-compatible server (dynalite, in memory) on 127.0.0.1 for the
// simulator and the integration tests. Nothing is written to disk, so every server starts empty.
import type { AddressInfo } from "node:net";
import dynalite from "dynalite";

export interface LocalDynamoDb {
  /** `http://127.0.0.1:<port>`, for the SDK's `endpoint` option. */
  readonly endpoint: string;
  readonly port: number;
  /** Closes open connections and the server; resolves once the port is free. */
  stop(): Promise<void>;
}

export interface LocalDynamoDbOptions {
  /** Port to listen on. @default 0 (the OS picks a free one, so parallel tests never collide) */
  readonly port?: number;
}

export async function startLocalDynamoDb(options: LocalDynamoDbOptions = {}): Promise<LocalDynamoDb> {
  // Tables become ACTIVE at once: nothing waits for a CREATING state that only exists to mimic AWS.
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // SDK clients keep connections alive; close() would otherwise wait for them to time out.
        server.closeAllConnections();
      }),
  };
}
