// An HTTP reverse proxy on 127.0.0.1 that puts the IAM gate in front of a server that checks no
// credentials (dynalite; an S3 server): every request is verified and authorized as the real service
// would, refused in that service's words, or forwarded. Bodies stream through: one is read whole only
// when its signature or its permissions depend on it (every JSON/Query service signs its payload
// hash; an S3 multi-object delete names its keys in it). An S3 upload signed with a declared
// x-amz-content-sha256 is hashed as it flows and the upstream request is aborted, never completed, if
// the hash is not the declared one; UNSIGNED-PAYLOAD streams as is; an aws-chunked body
// (STREAMING-*, as the SDKs send a streamed upload) is authorized by its seed signature, decoded as it
// flows and forwarded as the plain object, its CRC32 trailer checked (aws-chunked.ts).
import { createHash } from "node:crypto";
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";
import { AwsChunkedDecoder, AwsChunkedError } from "./aws-chunked";
import type { Principal } from "./credentials";
import type { GateResponse, Refusal, ServiceFront } from "./front";
import type { Gate } from "./gate";

export interface GateProxyOptions {
  readonly gate: Gate;
  readonly front: ServiceFront;
  /** The server behind the gate, `http://127.0.0.1:<port>`. */
  readonly upstream: string;
  /** Must be in 127.0.0.0/8. @default "127.0.0.1" */
  readonly host?: string;
  /** @default 0 (the OS picks a free one) */
  readonly port?: number;
  /**
   * Rewrites a request the gate let through before it goes upstream, e.g. `withoutSignature` for a
   * server that would check the caller's signature against keys of its own.
   * @default the caller's path and headers, less hop-by-hop headers
   */
  readonly forward?: (request: UpstreamRequest, principal: Principal) => UpstreamRequest;
  /** Answers a request before the gate sees it (a simulated outage); undefined serves it as usual. */
  readonly outage?: () => GateResponse | undefined;
}

/** What goes to the upstream server. */
export interface UpstreamRequest {
  readonly path: string;
  readonly headers: OutgoingHttpHeaders;
}

export interface GateProxy {
  /** `http://<host>:<port>`, for an SDK client's `endpoint`. */
  readonly endpoint: string;
  /** Requests refused so far. */
  readonly refused: number;
  /** Closes open connections and the server. */
  stop(): Promise<void>;
}

/** A host outside 127.0.0.0/8: the simulator never listens anywhere else. */
export class NonLoopbackHostError extends Error {
  override readonly name = "NonLoopbackHostError";
}

/** Headers that describe one connection and are not forwarded. */
const HOP_BY_HOP = ["connection", "keep-alive", "expect", "transfer-encoding", "upgrade", "proxy-connection"];

export async function startGateProxy(options: GateProxyOptions): Promise<GateProxy> {
  const host = options.host ?? "127.0.0.1";
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) {
    throw new NonLoopbackHostError(`the gate proxy listens on 127.0.0.0/8 only, not ${host}`);
  }
  const upstream = new URL(options.upstream);
  let refused = 0;
  const handle = (request: IncomingMessage, response: ServerResponse, expectsContinue: boolean) => {
    serve(request, response, expectsContinue, options, upstream, () => {
      refused += 1;
    }).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { "content-type": "text/plain" });
      response.end(`gate proxy: ${error instanceof Error ? error.message : String(error)}`);
    });
  };
  const server: Server = createServer((request, response) => handle(request, response, false));
  // A client that waits for 100-continue before sending a large body is answered first, so a
  // refused upload is never sent at all, as with S3.
  server.on("checkContinue", (request, response) => handle(request, response, true));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    get refused() {
      return refused;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // SDK clients keep connections alive; close() would otherwise wait for them to time out.
        server.closeAllConnections();
      }),
  };
}

async function serve(
  request: IncomingMessage,
  response: ServerResponse,
  expectsContinue: boolean,
  options: GateProxyOptions,
  upstream: URL,
  countRefusal: () => void,
): Promise<void> {
  const down = options.outage?.();
  if (down !== undefined) {
    request.resume();
    write(response, down, {});
    return;
  }
  const head = { method: request.method ?? "GET", url: request.url ?? "/", headers: request.headers };
  const declared = header(request.headers, "x-amz-content-sha256");
  const wholeBody =
    options.front.signingName !== "s3" ||
    options.front.needsBody(head) ||
    (declared === undefined && !isPresigned(head.url));
  if (wholeBody && expectsContinue) response.writeContinue();
  const body = wholeBody ? await readBody(request) : undefined;
  const verdict = await options.gate({ ...head, body }, options.front);
  if (!verdict.ok) {
    countRefusal();
    // An unread body is discarded; the connection closes so it cannot be taken for the next request.
    if (!wholeBody) request.resume();
    write(response, verdict.response, wholeBody ? {} : { connection: "close" });
    return;
  }
  if (!wholeBody && expectsContinue) response.writeContinue();
  const mode = bodyMode(request.headers, declared);
  const plain = { path: head.url, headers: upstreamHeaders(request.headers, body, mode) };
  const forwarded = options.forward?.(plain, verdict.principal) ?? plain;
  const outgoing = httpRequest({
    host: upstream.hostname,
    port: upstream.port,
    method: head.method,
    path: forwarded.path,
    headers: forwarded.headers,
  });
  let answered = false;
  outgoing.on("response", (answer) => {
    if (answered) {
      answer.resume();
      return;
    }
    answered = true;
    response.writeHead(answer.statusCode ?? 502, withoutHopByHop(answer.headers));
    answer.pipe(response);
  });
  outgoing.on("error", (error) => {
    if (answered) return;
    answered = true;
    response.writeHead(502, { "content-type": "text/plain" });
    response.end(`gate proxy: upstream ${options.upstream}: ${error.message}`);
  });
  request.on("aborted", () => outgoing.destroy());
  if (body !== undefined) {
    outgoing.end(body);
    return;
  }
  streamBody(request, outgoing, mode, (refusal) => {
    // The body is not what was signed or is broken: the upstream request is aborted before it
    // completes, so the server never acts on it, and the caller hears what S3 says.
    outgoing.destroy();
    if (answered) return;
    answered = true;
    countRefusal();
    write(response, options.front.refuse(refusal, head, verdict.requestId), { connection: "close" });
  });
}

/** How a streamed body is checked on its way: against a declared hash, as aws-chunked, or not at all. */
type BodyMode =
  | { readonly kind: "hashed"; readonly sha256: string }
  | { readonly kind: "aws-chunked" }
  | { readonly kind: "as-is" };

function bodyMode(headers: IncomingHttpHeaders, declared: string | undefined): BodyMode {
  if (declared !== undefined && /^[0-9a-f]{64}$/.test(declared)) return { kind: "hashed", sha256: declared };
  const encoding = header(headers, "content-encoding") ?? "";
  if (declared?.startsWith("STREAMING-") && /(^|,)\s*aws-chunked\s*(,|$)/.test(encoding))
    return { kind: "aws-chunked" };
  return { kind: "as-is" };
}

/**
 * Pipes the body upstream with backpressure, checking it as `mode` says; the upstream request is
 * completed only if the body passes.
 */
function streamBody(
  request: IncomingMessage,
  outgoing: ReturnType<typeof httpRequest>,
  mode: BodyMode,
  onRefusal: (refusal: Refusal) => void,
): void {
  const decoder = mode.kind === "aws-chunked" ? new AwsChunkedDecoder() : undefined;
  const source: Readable = decoder === undefined ? request : request.pipe(decoder);
  const hash = mode.kind === "hashed" ? createHash("sha256") : undefined;
  // The last chunk is held back until the body has passed its checks: a server that counts
  // Content-Length bytes would otherwise take the body as complete before the gate had seen it all.
  let held: Buffer | undefined;
  source.on("data", (chunk: Buffer) => {
    hash?.update(chunk);
    if (held !== undefined && !outgoing.write(held)) source.pause();
    held = chunk;
  });
  outgoing.on("drain", () => source.resume());
  decoder?.on("error", (error) => {
    request.unpipe(decoder);
    request.resume();
    const code = error instanceof AwsChunkedError ? error.code : "IncompleteBody";
    onRefusal({ kind: "body", code, message: error.message });
  });
  source.on("end", () => {
    if (mode.kind === "hashed" && hash?.digest("hex") !== mode.sha256) {
      onRefusal({
        kind: "signature",
        problem: "content-sha256-mismatch",
        reason: "The provided 'x-amz-content-sha256' header does not match what was computed.",
      });
      return;
    }
    outgoing.end(held);
  });
}

/**
 * The request as an anonymous one: no Authorization header, session token or presigned query. For a
 * server behind the gate that checks signatures against keys of its own (s3rver) and lets anonymous
 * requests through.
 */
export function withoutSignature(request: UpstreamRequest): UpstreamRequest {
  const { authorization: _, "x-amz-security-token": __, ...headers } = request.headers;
  const [path = "/", query] = request.path.split("?", 2);
  const kept = (query ?? "").split("&").filter((pair) => pair !== "" && !/^X-Amz-/i.test(pair));
  return { path: kept.length === 0 ? path : `${path}?${kept.join("&")}`, headers };
}

function upstreamHeaders(
  headers: IncomingHttpHeaders,
  body: Buffer | undefined,
  mode: BodyMode,
): OutgoingHttpHeaders {
  const forwarded = withoutHopByHop(headers);
  if (body !== undefined) forwarded["content-length"] = String(body.length);
  if (mode.kind === "aws-chunked") {
    // The server gets the object's bytes: as long as the caller said, no longer aws-chunked.
    const decoded = header(headers, "x-amz-decoded-content-length");
    if (decoded === undefined) delete forwarded["content-length"];
    else forwarded["content-length"] = decoded;
    const encodings = (header(headers, "content-encoding") ?? "")
      .split(",")
      .map((e) => e.trim())
      .filter((e) => e !== "" && e !== "aws-chunked");
    if (encodings.length === 0) delete forwarded["content-encoding"];
    else forwarded["content-encoding"] = encodings.join(",");
    forwarded["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
    delete forwarded["x-amz-decoded-content-length"];
    delete forwarded["x-amz-trailer"];
  }
  return forwarded;
}

function withoutHopByHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const copy: OutgoingHttpHeaders = { ...headers };
  for (const name of HOP_BY_HOP) delete copy[name];
  return copy;
}

function write(response: ServerResponse, answer: GateResponse, extra: Record<string, string>): void {
  response.writeHead(answer.status, {
    ...answer.headers,
    "content-length": String(Buffer.byteLength(answer.body)),
    ...extra,
  });
  response.end(answer.body);
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function isPresigned(url: string): boolean {
  return /[?&]X-Amz-Algorithm=/.test(url);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
