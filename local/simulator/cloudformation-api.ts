// CloudFormation's DescribeStacks for the simulator's deployed stack, behind the IAM gate, as the
// SDK's CloudFormationClient and `aws cloudformation describe-stacks` call it: the stack's name, ID,
// status and resolved outputs. Operators' tools (`etcd-asg --local`) find the stack's functions here.
// Other actions answer InvalidAction; another stack's name answers ValidationError "does not exist".
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { parseQueryParams } from "../aws/query-params";
import { escapeXml, leaf, list, node } from "../aws/xml";
import { CLOUDFORMATION_XMLNS, cloudFormationFront } from "../iam/cloudformation";
import type { Gate } from "../iam/gate";
import { type LocalServer, readBody, startLocalServer } from "./local-server";

export interface DescribedStack {
  readonly stackName: string;
  readonly stackId: string;
  readonly outputs: Readonly<Record<string, string>>;
}

export interface CloudFormationApiOptions {
  readonly region: string;
  readonly account: string;
  readonly gate: Gate;
  /** The deployed stack, looked up per request; undefined before the first deploy. */
  readonly stack: () => DescribedStack | undefined;
}

export class CloudFormationApi {
  private server: LocalServer | undefined;

  constructor(private readonly options: CloudFormationApiOptions) {}

  async start(): Promise<string> {
    this.server = await startLocalServer((request, response) => this.serve(request, response));
    return this.server.endpoint;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await server?.stop();
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const url = request.url ?? "/";
    const requestId = randomUUID();
    const verdict = await this.options.gate(
      { method: request.method ?? "POST", url, headers: request.headers, body },
      cloudFormationFront(this.options),
    );
    if (!verdict.ok) {
      response.writeHead(verdict.response.status, verdict.response.headers);
      response.end(verdict.response.body);
      return;
    }
    const params = parseQueryParams(body.toString("utf8"), new URL(url, "http://localhost").search);
    const action = params.get("Action") ?? "";
    const answer = (status: number, xml: string) => {
      response.writeHead(status, { "content-type": "text/xml", "x-amzn-requestid": requestId });
      response.end(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
    };
    const error = (status: number, code: string, message: string) =>
      answer(
        status,
        `<ErrorResponse xmlns="${CLOUDFORMATION_XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      );
    if (action !== "DescribeStacks") {
      error(400, "InvalidAction", `The action ${action || "(none)"} is not valid for this web service.`);
      return;
    }
    const named = params.get("StackName");
    const stack = this.options.stack();
    if (
      stack === undefined ||
      (named !== undefined && named !== stack.stackName && named !== stack.stackId)
    ) {
      error(400, "ValidationError", `Stack with id ${named ?? ""} does not exist`);
      return;
    }
    const outputs = Object.entries(stack.outputs).map(([key, value]) =>
      [leaf("OutputKey", key), leaf("OutputValue", value)].join(""),
    );
    answer(
      200,
      `<DescribeStacksResponse xmlns="${CLOUDFORMATION_XMLNS}">${node(
        "DescribeStacksResult",
        list("Stacks", "member", [
          [
            leaf("StackName", stack.stackName),
            leaf("StackId", stack.stackId),
            leaf("StackStatus", "CREATE_COMPLETE"),
            leaf("CreationTime", new Date().toISOString()),
            list("Outputs", "member", outputs),
          ].join(""),
        ]),
      )}${node("ResponseMetadata", leaf("RequestId", requestId))}</DescribeStacksResponse>`,
    );
  }
}
