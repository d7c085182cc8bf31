// Lambda's Invoke API for the simulator's functions, as the SDK's LambdaClient and the `aws lambda
// invoke` CLI call it: POST /2015-03-31/functions/{FunctionName}/invocations, behind the IAM gate
// (lambda:InvokeFunction on the function, invoked directly). RequestResponse runs the function and
// answers its result (a function error as 200 with X-Amz-Function-Error: Unhandled and the error
// payload, as Lambda answers); Event queues it (202); DryRun only checks (204). An unknown function
// is 404 ResourceNotFoundException. Operators' tools (the CLI, the tests) reach the functions here.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Gate } from "../iam/gate";
import { lambdaInvokeFront } from "../iam/lambda-invoke";
import { FunctionError, type LambdaFunction } from "./lambda-function";
import { type LocalServer, readBody, startLocalServer } from "./local-server";

export interface InvokableFunction {
  readonly name: string;
  readonly arn: string;
  readonly fn: LambdaFunction;
}

export interface LambdaApiOptions {
  readonly region: string;
  readonly gate: Gate;
  /** The deployed functions (looked up per request: a deploy may replace them). */
  readonly functions: () => readonly InvokableFunction[];
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/?]+)\/invocations(?:\?|$)/;

export class LambdaApi {
  private server: LocalServer | undefined;

  constructor(private readonly options: LambdaApiOptions) {}

  async start(): Promise<string> {
    this.server = await startLocalServer((request, response) => this.serve(request, response));
    return this.endpoint;
  }

  get endpoint(): string {
    if (!this.server) throw new Error("the Lambda API is not started");
    return this.server.endpoint;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await server?.stop();
  }

  private find(nameInPath: string): InvokableFunction | undefined {
    // A name, an ARN, or a partial ARN (account:function:name) all name a function.
    const name = nameInPath.split(":").at(-1) ?? nameInPath;
    return this.options.functions().find((f) => f.name === name || f.arn === nameInPath);
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const url = request.url ?? "/";
    const requestId = randomUUID();
    const verdict = await this.options.gate(
      { method: request.method ?? "POST", url, headers: request.headers, body },
      lambdaInvokeFront({
        region: this.options.region,
        functionArn: (name) =>
          this.find(name)?.arn ?? `arn:aws:lambda:${this.options.region}:*:function:${name}`,
      }),
    );
    if (!verdict.ok) {
      response.writeHead(verdict.response.status, verdict.response.headers);
      response.end(verdict.response.body);
      return;
    }
    const name = decodeURIComponent(INVOKE_PATH.exec(url)?.[1] ?? "");
    const target = request.method === "POST" ? this.find(name) : undefined;
    const headers = { "content-type": "application/json", "x-amzn-requestid": requestId };
    if (target === undefined) {
      response.writeHead(404, { ...headers, "x-amzn-errortype": "ResourceNotFoundException" });
      response.end(JSON.stringify({ Type: "User", Message: `Function not found: ${name}` }));
      return;
    }
    const type = String(request.headers["x-amz-invocation-type"] ?? "RequestResponse");
    let event: unknown;
    try {
      event = body.length === 0 ? {} : JSON.parse(body.toString("utf8"));
    } catch {
      response.writeHead(400, { ...headers, "x-amzn-errortype": "InvalidRequestContentException" });
      response.end(JSON.stringify({ Type: "User", message: "Could not parse request body into json" }));
      return;
    }
    if (type === "DryRun") {
      response.writeHead(204, headers);
      response.end();
      return;
    }
    if (type === "Event") {
      target.fn.invoke(event).catch(() => undefined);
      response.writeHead(202, headers);
      response.end();
      return;
    }
    try {
      const result = await target.fn.invoke(event);
      response.writeHead(200, { ...headers, "x-amz-executed-version": "$LATEST" });
      response.end(JSON.stringify(result ?? null));
    } catch (error) {
      if (!(error instanceof FunctionError)) throw error;
      response.writeHead(200, { ...headers, "x-amz-function-error": "Unhandled" });
      response.end(JSON.stringify({ errorType: error.errorType, errorMessage: error.detail }));
    }
  }
}
