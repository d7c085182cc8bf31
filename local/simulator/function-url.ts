// A Lambda function URL in front of its function (the template's AWS::Lambda::Url). With AWS_IAM
// auth every request goes through the simulator's IAM gate as AWS checks it — a valid SigV4
// signature (service `lambda`) of credentials the simulator issued, and both lambda:InvokeFunctionUrl
// and lambda:InvokeFunction (through the URL) allowed to the caller on the function — and is refused
// in AWS's words otherwise. A request let through reaches the function as a payload-2.0 event whose
// requestContext.authorizer.iam names the verified caller: for an instance, the assumed-role session
// of its role (`.../assumed-role/<role>/<instance-id>`). With NONE no caller is named.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Principal } from "../iam/credentials";
import type { Gate } from "../iam/gate";
import { functionUrlFront } from "../iam/lambda-url";
import type { LambdaFunction } from "./lambda-function";

export interface FunctionUrlTarget {
  readonly fn: LambdaFunction;
  readonly functionArn: string;
  readonly authType: "AWS_IAM" | "NONE";
}

export interface FunctionUrlOptions {
  /** The URL's function and auth type (looked up per request: a deploy may replace them). */
  readonly target: () => FunctionUrlTarget | undefined;
  readonly region: string;
  readonly gate: Gate;
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
    const receivedAt = Date.now();
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const target = this.options.target();
    if (target === undefined) throw new Error("the function URL has no function");
    let caller: { principal: Principal; accessKeyId: string } | undefined;
    if (target.authType === "AWS_IAM") {
      const { region } = this.options;
      const head = { method: request.method ?? "GET", url: request.url ?? "/", headers: request.headers };
      const verdict = await this.options.gate(
        { ...head, body },
        functionUrlFront({ region, functionArn: target.functionArn }),
      );
      if (!verdict.ok) {
        this.refused += 1;
        response.writeHead(verdict.response.status, verdict.response.headers);
        response.end(verdict.response.body);
        return;
      }
      const accessKeyId = /Credential=([A-Z0-9]+)\//.exec(String(request.headers.authorization))?.[1] ?? "";
      caller = { principal: verdict.principal, accessKeyId };
    }
    let result: unknown;
    try {
      result = await target.fn.invoke(this.event(request, body, caller), { receivedAt });
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

  private event(
    request: IncomingMessage,
    body: Buffer,
    caller: { principal: Principal; accessKeyId: string } | undefined,
  ): unknown {
    const url = new URL(request.url ?? "/", "http://localhost");
    const query = Object.fromEntries(url.searchParams);
    const textual = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded)\b)/.test(
      String(request.headers["content-type"] ?? "text/plain"),
    );
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : (v ?? "")]),
    );
    const now = new Date();

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
        ...(caller === undefined
          ? {}
          : {
              authorizer: {
                iam: {
                  accessKey: caller.accessKeyId,
                  accountId: caller.principal.account,
                  callerId: caller.principal.userId,
                  cognitoIdentity: null,
                  principalOrgId: null,
                  userArn: caller.principal.arn,
                  userId: caller.principal.userId,
                },
              },
            }),
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
      // As Lambda does: a body whose content type is not text is passed base64-encoded.
      ...(body.length > 0 ? { body: textual ? body.toString("utf8") : body.toString("base64") } : {}),
      isBase64Encoded: body.length > 0 && !textual,
    };
  }
}
