// Starts and stops a DynamoDB-compatible server (dynalite, in memory) on 127.0.0.1 for the
// simulator and the integration tests. Nothing is written to disk, so every server starts empty.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
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
  const requests = inFlight(server);
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: async () => {
      const closed = new Promise<void>((resolve, reject) =>
        server.close((err) => (err ? reject(err) : resolve())),
      );
      // A request dynalite is still handling (a simulator's reconcile pass cut short by its stop)
      // would touch the database after it closed, which dynalite throws outside any callback.
      server.closeIdleConnections();
      await requests.drained(DRAIN_MS);
      // SDK clients keep connections alive; close() would otherwise wait for them to time out.
      server.closeAllConnections();
      await closed;
    },
  };
}

/** How long stop() waits for the requests under way to be answered. */
const DRAIN_MS = 2000;

/** Counts the requests dynalite has not answered yet (its handler ends each with res.end). */
function inFlight(server: Server): { drained(timeoutMs: number): Promise<void> } {
  const [handler] = server.listeners("request") as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  if (handler === undefined) throw new Error("dynalite registered no request handler");
  server.removeAllListeners("request");
  let open = 0;
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    open += 1;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    let ended = false;
    res.end = ((...args: unknown[]) => {
      if (!ended) open -= 1;
      ended = true;
      return end(...args);
    }) as typeof res.end;
    handler.call(server, req, res);
  });
  return {
    async drained(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (open > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    },
  };
}
