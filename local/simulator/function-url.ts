// A Lambda function URL with AWS_IAM auth in front of the node-api function: verifies each
// request's SigV4 signature (service `lambda`) against the instance-role credentials the simulator
// issued, refuses a bad one with 403 as AWS does, and passes a good one to the function as a
// payload-2.0 event whose requestContext.authorizer.iam names the verified caller — the
// assumed-role session of the instance (`.../assumed-role/<role>/<instance-id>`).
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type SigningSecret, verifySigV4 } from "../iam/sigv4";
import type { LambdaFunction } from "./lambda-function";

/** Credentials the simulator issued to one instance's role session. */
export interface IssuedCredentials extends SigningSecret {
  readonly accessKeyId: string;
  readonly instanceId: string;
  readonly roleName: string;
}

export interface FunctionUrlOptions {
  readonly fn: LambdaFunction;
  readonly region: string;
  readonly account: string;
  readonly credentials: (accessKeyId: string) => IssuedCredentials | undefined;
}

export class FunctionUrl {
  private server: Server | undefined;
  /** Requests refused for a bad signature. */
  refused = 0;

  constructor(private readonly options: FunctionUrlOptions) {}

  async start(): Promise<string> {
    const server = createServer((request, response) => {
      this.serve(request, response).catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(500, { "content-type": "application/json" });
        response.end(JSON.stringify({ Message: String(error) }));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    this.server = server;
    return this.url;
  }

  /** `http://127.0.0.1:<port>` (a real one is `https://<id>.lambda-url.<region>.on.aws`). */
  get url(): string {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error("the function URL is not started");
    return `http://127.0.0.1:${address.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const { region, account } = this.options;
    const verdict = verifySigV4(
      { method: request.method ?? "GET", url: request.url ?? "/", headers: request.headers, body },
      { region, service: "lambda" },
      this.options.credentials,
    );
    if (!verdict.ok) {
      this.refused += 1;
      response.writeHead(403, {
        "content-type": "application/json",
        "x-amzn-errortype": "AccessDeniedException",
      });
      response.end(JSON.stringify({ Message: verdict.reason }));
      return;
    }
    const caller = this.options.credentials(verdict.accessKeyId);
    if (caller === undefined) throw new Error(`credentials ${verdict.accessKeyId} vanished`);
    let result: unknown;
    try {
      result = await this.options.fn.invoke(this.event(request, body, caller, account));
    } catch (error) {
      // A function error reaches the caller as 502, as with a real function URL.
      response.writeHead(502, { "content-type": "application/json" });
      response.end(JSON.stringify({ Message: "Internal Server Error", cause: String(error) }));
      return;
    }
    const answer = result as { statusCode?: number; headers?: Record<string, string>; body?: string };
    response.writeHead(answer.statusCode ?? 200, answer.headers ?? { "content-type": "application/json" });
    response.end(answer.body ?? "");
  }

  private event(request: IncomingMessage, body: Buffer, caller: IssuedCredentials, account: string): unknown {
    const url = new URL(request.url ?? "/", "http://localhost");
    const query = Object.fromEntries(url.searchParams);
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : (v ?? "")]),
    );
    const now = new Date();
    const userArn = `arn:aws:sts::${account}:assumed-role/${caller.roleName}/${caller.instanceId}`;
    return {
      version: "2.0",
      routeKey: "$default",
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers,
      ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
      requestContext: {
        accountId: "anonymous",
        apiId: "simulator",
        authorizer: {
          iam: {
            accessKey: caller.accessKeyId,
            accountId: account,
            callerId: `AROA0000000000000000:${caller.instanceId}`,
            cognitoIdentity: null,
            principalOrgId: null,
            userArn,
            userId: `AROA0000000000000000:${caller.instanceId}`,
          },
        },
        domainName: headers.host ?? "127.0.0.1",
        domainPrefix: "simulator",
        http: {
          method: request.method ?? "GET",
          path: url.pathname,
          protocol: `HTTP/${request.httpVersion}`,
          sourceIp: request.socket.remoteAddress ?? "127.0.0.1",
          userAgent: headers["user-agent"] ?? "",
        },
        requestId: randomUUID(),
        routeKey: "$default",
        stage: "$default",
        time: now.toISOString(),
        timeEpoch: now.getTime(),
      },
      ...(body.length > 0 ? { body: body.toString("utf8") } : {}),
      isBase64Encoded: false,
    };
  }
}
