// The local Route 53: one HTTP server on 127.0.0.1 speaking Route 53's REST-XML protocol
// (`/2013-04-01/…`, namespace https://route53.amazonaws.com/doc/2013-04-01/), so the real
// @aws-sdk/client-route-53 and the `aws` CLI work against it through an endpoint override
// (AWS_ENDPOINT_URL_ROUTE_53). Serves what the stack and the control plane use: CreateHostedZone,
// GetHostedZone, ListHostedZonesByName, ChangeResourceRecordSets, ListResourceRecordSets and
// GetChange, over a Route53Store (zones.ts) that local/dns/ serves as DNS. An optional `authorize`
// hook (the simulator's IAM gate) sees each request first and may answer it instead; a test can
// inject the faults Route 53 answers when throttled, busy or failing, and read call counts.
import { randomUUID } from "node:crypto";
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { AwsApiError } from "../aws/api-error";
import { isoTime, leaf, node } from "../aws/xml";
import type { RecordSet } from "./records";
import { child, childrenNamed, childText, MalformedXmlError, parseXml, type XmlElement } from "./xml-reader";
import {
  type ChangeInfo,
  type ChangeRequest,
  type HostedZone,
  Route53Store,
  type Route53StoreOptions,
} from "./zones";

export const ROUTE53_NAMESPACE = "https://route53.amazonaws.com/doc/2013-04-01/";

/** What the `authorize` hook is given: the request as received, and what it asks for. */
export interface Route53Request {
  readonly method: string;
  /** Path and query as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** e.g. `ChangeResourceRecordSets`; empty when the request is no operation this server knows. */
  readonly operation: string;
  /** The IAM action, e.g. `route53:ChangeResourceRecordSets`. */
  readonly action: string;
  /** `arn:aws:route53:::hostedzone/<id>`, `arn:aws:route53:::change/<id>`, or `*`. */
  readonly resource: string;
}

/** An HTTP answer the hook sends instead of serving the request. */
export interface Route53HttpResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Undefined lets the request through. */
export type Route53Authorizer = (
  request: Route53Request,
) => Route53HttpResponse | undefined | Promise<Route53HttpResponse | undefined>;

/** A failure to answer a call with instead of serving it. */
export type Route53Fault = "throttling" | "prior-request-not-complete" | "server-error";
export type Route53FaultInjector = (call: {
  readonly operation: string;
  readonly resource: string;
}) => Route53Fault | undefined;

export interface Route53EmulatorOptions extends Route53StoreOptions {
  /** @default none: every request is served */
  readonly authorize?: Route53Authorizer;
}

type Handler = (
  call: { readonly id: string; readonly query: URLSearchParams; readonly body: string },
  store: Route53Store,
) => { readonly status?: number; readonly headers?: Record<string, string>; readonly xml: string };

interface Route {
  readonly method: string;
  readonly path: RegExp;
  readonly operation: string;
  readonly resource: "hostedzone" | "change" | "*";
  readonly handler: Handler;
}

const ROUTES: readonly Route[] = [
  {
    method: "POST",
    path: /^\/hostedzone\/?$/,
    operation: "CreateHostedZone",
    resource: "*",
    handler: createHostedZone,
  },
  {
    method: "GET",
    path: /^\/hostedzone\/([^/]+)$/,
    operation: "GetHostedZone",
    resource: "hostedzone",
    handler: getHostedZone,
  },
  {
    method: "GET",
    path: /^\/hostedzonesbyname\/?$/,
    operation: "ListHostedZonesByName",
    resource: "*",
    handler: listHostedZonesByName,
  },
  {
    method: "POST",
    path: /^\/hostedzone\/([^/]+)\/rrset\/?$/,
    operation: "ChangeResourceRecordSets",
    resource: "hostedzone",
    handler: changeResourceRecordSets,
  },
  {
    method: "GET",
    path: /^\/hostedzone\/([^/]+)\/rrset\/?$/,
    operation: "ListResourceRecordSets",
    resource: "hostedzone",
    handler: listResourceRecordSets,
  },
  {
    method: "GET",
    path: /^\/change\/([^/]+)$/,
    operation: "GetChange",
    resource: "change",
    handler: getChange,
  },
];

export class Route53Emulator {
  readonly store: Route53Store;
  private readonly authorize: Route53Authorizer | undefined;
  private readonly calls = new Map<string, number>();
  private faultInjector: Route53FaultInjector | undefined;
  private server: Server | undefined;

  constructor(options: Route53EmulatorOptions = {}) {
    this.store = new Route53Store(options);
    this.authorize = options.authorize;
  }

  /** Starts serving on 127.0.0.1; resolves to the endpoint URL (`http://127.0.0.1:<port>`). */
  async start(port = 0): Promise<string> {
    if (this.server) throw new Error("Route53Emulator already started");
    const server = createServer((request, response) => {
      this.serve(request, response).catch((error: unknown) => {
        const failure = new AwsApiError("InternalFailure", String(error), 500);
        send(response, { status: 500, body: errorBody(failure, randomUUID()) });
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", resolve);
    });
    return this.endpoint;
  }

  get endpoint(): string {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error("Route53Emulator is not started");
    return `http://127.0.0.1:${address.port}`;
  }

  /** Stops serving and cancels pending propagation. */
  async stop(): Promise<void> {
    this.store.stop();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    // SDK clients keep connections alive; close() would otherwise wait for them to time out.
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Calls received per operation (refused and faulted ones included), e.g. `{ GetChange: 3 }`. */
  callCounts(): Record<string, number> {
    return Object.fromEntries(this.calls);
  }

  resetCallCounts(): void {
    this.calls.clear();
  }

  /** Answers matching calls with a fault instead of serving them; undefined removes the injector. */
  injectFaults(injector: Route53FaultInjector | undefined): void {
    this.faultInjector = injector;
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(request.url ?? "/", "http://localhost");
    const path = url.pathname.replace(/^\/2013-04-01(?=\/)/, "");
    const route = ROUTES.find((r) => r.method === request.method && r.path.test(path));
    // The SDK strips `/hostedzone/` and `/change/` from IDs; a raw caller may not.
    const id = decodeURIComponent(route?.path.exec(path)?.[1] ?? "").replace(/^\/?(hostedzone|change)\//, "");
    const operation = route?.operation ?? "";
    const resource =
      route === undefined || route.resource === "*" ? "*" : `arn:aws:route53:::${route.resource}/${id}`;
    const requestId = randomUUID();
    this.calls.set(operation, (this.calls.get(operation) ?? 0) + 1);
    try {
      const refusal = await this.authorize?.({
        method: request.method ?? "",
        url: request.url ?? "/",
        headers: request.headers,
        body,
        operation,
        action: operation === "" ? "" : `route53:${operation}`,
        resource,
      });
      if (refusal !== undefined) return send(response, refusal);
      if (route === undefined) {
        throw new AwsApiError(
          "UnknownOperation",
          `This Route 53 does not serve ${request.method} ${url.pathname}`,
          404,
        );
      }
      const fault = this.faultInjector?.({ operation, resource });
      if (fault !== undefined) throw faultError(fault);
      const answer = route.handler({ id, query: url.searchParams, body: body.toString("utf8") }, this.store);
      send(response, {
        status: answer.status ?? 200,
        headers: { "x-amzn-requestid": requestId, ...answer.headers },
        body: `<?xml version="1.0"?>\n<${operation}Response xmlns="${ROUTE53_NAMESPACE}">${answer.xml}</${operation}Response>`,
      });
    } catch (error) {
      if (!(error instanceof AwsApiError)) throw error;
      send(response, {
        status: error.status,
        headers: { "x-amzn-requestid": requestId },
        body: errorBody(error, requestId),
      });
    }
  }
}

/** Renders a Route 53 error as Route 53 sends it, e.g. for an IAM gate's AccessDenied. */
export function route53ErrorResponse(code: string, message: string, status = 400): Route53HttpResponse {
  return { status, body: errorBody(new AwsApiError(code, message, status), randomUUID()) };
}

// ---------------------------------------------------------------------------------------------
// Operations.

function createHostedZone(call: Parameters<Handler>[0], store: Route53Store): ReturnType<Handler> {
  const request = requestBody(call.body, "CreateHostedZoneRequest");
  const vpc = child(request, "VPC");
  const config = child(request, "HostedZoneConfig");
  const { zone, change } = store.createHostedZone({
    name: childText(request, "Name"),
    callerReference: childText(request, "CallerReference"),
    vpc: vpc === undefined ? undefined : { region: childText(vpc, "VPCRegion"), id: childText(vpc, "VPCId") },
    comment: childText(config, "Comment"),
    privateZone: childText(config, "PrivateZone") === "true",
  });
  const [firstVpc] = zone.vpcs;
  return {
    status: 201,
    headers: { location: `https://route53.amazonaws.com/2013-04-01/hostedzone/${zone.id}` },
    xml:
      hostedZoneXml(zone) +
      changeInfoXml(change) +
      (zone.privateZone ? "" : delegationSetXml(store, zone)) +
      (firstVpc === undefined
        ? ""
        : node("VPC", leaf("VPCRegion", firstVpc.region), leaf("VPCId", firstVpc.id))),
  };
}

function getHostedZone(call: Parameters<Handler>[0], store: Route53Store): ReturnType<Handler> {
  const zone = store.getHostedZone(call.id);
  return {
    xml:
      hostedZoneXml(zone) +
      (zone.privateZone
        ? node(
            "VPCs",
            ...zone.vpcs.map((vpc) => node("VPC", leaf("VPCRegion", vpc.region), leaf("VPCId", vpc.id))),
          )
        : delegationSetXml(store, zone)),
  };
}

function listHostedZonesByName(call: Parameters<Handler>[0], store: Route53Store): ReturnType<Handler> {
  const dnsName = call.query.get("dnsname") ?? undefined;
  const hostedZoneId = call.query.get("hostedzoneid") ?? undefined;
  const maxItems = maxItemsOf(call.query, 100);
  const page = store.listHostedZonesByName({ dnsName, hostedZoneId, maxItems });
  return {
    xml:
      node("HostedZones", ...page.items.map(hostedZoneXml)) +
      leaf("DNSName", dnsName) +
      leaf("HostedZoneId", hostedZoneId) +
      leaf("IsTruncated", page.next !== undefined) +
      leaf("NextDNSName", page.next?.name) +
      leaf("NextHostedZoneId", page.next?.id) +
      leaf("MaxItems", maxItems),
  };
}

function changeResourceRecordSets(call: Parameters<Handler>[0], store: Route53Store): ReturnType<Handler> {
  const batch = child(requestBody(call.body, "ChangeResourceRecordSetsRequest"), "ChangeBatch");
  if (batch === undefined) throw new AwsApiError("InvalidInput", "Invalid request: ChangeBatch is required");
  const changes = childrenNamed(child(batch, "Changes"), "Change").map(changeRequest);
  return {
    xml: changeInfoXml(store.changeResourceRecordSets(call.id, changes, childText(batch, "Comment"))),
  };
}

function listResourceRecordSets(call: Parameters<Handler>[0], store: Route53Store): ReturnType<Handler> {
  const maxItems = maxItemsOf(call.query, 300);
  const page = store.listResourceRecordSets(call.id, {
    name: call.query.get("name") ?? undefined,
    type: call.query.get("type") ?? undefined,
    identifier: call.query.get("identifier") ?? undefined,
    maxItems,
  });
  return {
    xml:
      node("ResourceRecordSets", ...page.items.map(recordSetXml)) +
      leaf("IsTruncated", page.next !== undefined) +
      leaf("NextRecordName", page.next?.name) +
      leaf("NextRecordType", page.next?.type) +
      leaf("MaxItems", maxItems),
  };
}

function getChange(call: Parameters<Handler>[0], store: Route53Store): ReturnType<Handler> {
  return { xml: changeInfoXml(store.getChange(call.id)) };
}

// ---------------------------------------------------------------------------------------------
// Request and response bodies.

function requestBody(body: string, root: string): XmlElement {
  let document: XmlElement;
  try {
    document = parseXml(body);
  } catch (error) {
    if (!(error instanceof MalformedXmlError)) throw error;
    throw new AwsApiError("InvalidInput", `Invalid XML ; ${error.message}`);
  }
  if (document.name !== root) {
    throw new AwsApiError("MalformedInput", `${document.name} is not valid, expected ${root}`);
  }
  return document;
}

function changeRequest(change: XmlElement): ChangeRequest {
  const set = child(change, "ResourceRecordSet");
  const ttl = childText(set, "TTL");
  const records = child(set, "ResourceRecords");
  const unsupported = ["AliasTarget", "SetIdentifier", "TrafficPolicyInstanceId"].find(
    (name) => child(set, name) !== undefined,
  );
  return {
    action: childText(change, "Action") ?? "",
    name: childText(set, "Name") ?? "",
    type: childText(set, "Type") ?? "",
    ttl: ttl === undefined ? undefined : /^-?\d+$/.test(ttl) ? Number(ttl) : Number.NaN,
    values:
      records === undefined
        ? undefined
        : childrenNamed(records, "ResourceRecord").map((r) => childText(r, "Value") ?? ""),
    unsupported,
  };
}

function hostedZoneXml(zone: HostedZone): string {
  return node(
    "HostedZone",
    leaf("Id", `/hostedzone/${zone.id}`),
    leaf("Name", zone.name),
    leaf("CallerReference", zone.callerReference),
    node("Config", leaf("Comment", zone.comment), leaf("PrivateZone", zone.privateZone)),
    leaf("ResourceRecordSetCount", zone.recordSetCount),
  );
}

function delegationSetXml(store: Route53Store, zone: HostedZone): string {
  const ns = store.listResourceRecordSets(zone.id, {
    name: zone.name,
    type: "NS",
    identifier: undefined,
    maxItems: 1,
  });
  return node(
    "DelegationSet",
    node("NameServers", ...(ns.items[0]?.values ?? []).map((v) => leaf("NameServer", v.replace(/\.$/, "")))),
  );
}

function recordSetXml(set: RecordSet): string {
  return node(
    "ResourceRecordSet",
    leaf("Name", set.name),
    leaf("Type", set.type),
    leaf("TTL", set.ttl),
    node("ResourceRecords", ...set.values.map((value) => node("ResourceRecord", leaf("Value", value)))),
  );
}

function changeInfoXml(change: ChangeInfo): string {
  return node(
    "ChangeInfo",
    leaf("Id", `/change/${change.id}`),
    leaf("Status", change.status),
    leaf("SubmittedAt", isoTime(change.submittedAt)),
    leaf("Comment", change.comment),
  );
}

/** `maxitems` as Route 53 reads it: a positive integer, at most `limit`. */
function maxItemsOf(query: URLSearchParams, limit: number): number {
  const text = query.get("maxitems");
  if (text === null) return limit;
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new AwsApiError(
      "InvalidInput",
      `Invalid value for maxitems: ${text}. It must be a positive integer.`,
    );
  }
  return Math.min(Number(text), limit);
}

/**
 * Route 53's error document. An InvalidChangeBatch carries every problem in its message, in brackets
 * (`[Tried to create … but it already exists, …]`), as the SDKs and the CLI show it.
 */
function errorBody(error: AwsApiError, requestId: string): string {
  return `<?xml version="1.0"?>\n<ErrorResponse xmlns="${ROUTE53_NAMESPACE}">${node(
    "Error",
    leaf("Type", error.faultType),
    leaf("Code", error.code),
    leaf("Message", error.message),
  )}${leaf("RequestId", requestId)}</ErrorResponse>`;
}

/** The codes and statuses Route 53 really answers with when throttling, busy or failing. */
function faultError(fault: Route53Fault): AwsApiError {
  switch (fault) {
    case "throttling":
      return new AwsApiError("Throttling", "Rate exceeded", 400);
    case "prior-request-not-complete":
      return new AwsApiError(
        "PriorRequestNotComplete",
        "The request was rejected because Route 53 was still processing a prior request.",
        400,
      );
    default:
      return new AwsApiError("InternalFailure", "An internal error occurred.", 500);
  }
}

function send(response: ServerResponse, answer: Route53HttpResponse): void {
  response.writeHead(answer.status, { "content-type": "text/xml", ...answer.headers });
  response.end(answer.body);
}
