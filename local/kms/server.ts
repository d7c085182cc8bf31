// The local KMS: one HTTP server on 127.0.0.1 speaking KMS's JSON 1.1 protocol (POST /, dispatch on
// `X-Amz-Target: TrentService.<Operation>`), so the real @aws-sdk/client-kms and the `aws` CLI work
// against it through an endpoint override (AWS_ENDPOINT_URL_KMS). Holds ECC_NIST_P256 signing keys
// made with node:crypto whose private halves never leave the process. An optional `authorize` hook
// (the simulator's IAM gate) sees each request first and may answer it instead; a test can inject
// the faults KMS answers when it is throttled or failing, and read how often each operation ran.
import { randomUUID } from "node:crypto";
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { KmsApiError, kmsErrorBody } from "./api-error";
import { type CreateKeyInput, type KeyMetadata, KeyStore } from "./keys";
import { KMS_OPERATIONS, type Params } from "./operations";

export const KMS_TARGET_PREFIX = "TrentService.";
export const KMS_CONTENT_TYPE = "application/x-amz-json-1.1";

/** What the `authorize` hook is given: the request as received, and what it asks for. */
export interface KmsRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** e.g. `Sign`. */
  readonly operation: string;
  /** The IAM action, e.g. `kms:Sign`. */
  readonly action: string;
  /** The ARN of the key the request names, when it names one that exists; the IAM resource. */
  readonly keyArn: string | undefined;
}

/** An HTTP answer the hook sends instead of serving the request. */
export interface KmsHttpResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Undefined lets the request through. */
export type KmsAuthorizer = (
  request: KmsRequest,
) => KmsHttpResponse | undefined | Promise<KmsHttpResponse | undefined>;

/** A failure to answer a call with instead of serving it. */
export type KmsFault = "throttling" | "internal" | "key-unavailable" | "dependency-timeout";
export type KmsFaultInjector = (call: {
  readonly operation: string;
  readonly keyArn: string | undefined;
}) => KmsFault | undefined;

export interface KmsEmulatorOptions {
  /** @default "us-east-1" */
  readonly region?: string;
  /** @default "123456789012" */
  readonly account?: string;
  /** @default none: every request is served */
  readonly authorize?: KmsAuthorizer;
  /** For CreationDate. @default Date.now */
  readonly now?: () => number;
}

export class KmsEmulator {
  readonly region: string;
  readonly account: string;
  private readonly store: KeyStore;
  private readonly authorize: KmsAuthorizer | undefined;
  private readonly calls = new Map<string, number>();
  private faultInjector: KmsFaultInjector | undefined;
  private server: Server | undefined;

  constructor(options: KmsEmulatorOptions = {}) {
    this.region = options.region ?? "us-east-1";
    this.account = options.account ?? "123456789012";
    this.authorize = options.authorize;
    this.store = new KeyStore(this.region, this.account, options.now ?? Date.now);
  }

  /** Starts serving; resolves to the endpoint URL (`http://127.0.0.1:<port>`). */
  async start(port = 0): Promise<string> {
    if (this.server) throw new Error("KmsEmulator already started");
    const server = createServer((request, response) => {
      this.serve(request, response).catch((error: unknown) => {
        send(response, { status: 500, body: kmsErrorBody("KMSInternalException", String(error)) });
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
    if (!address) throw new Error("KmsEmulator is not started");
    return `http://127.0.0.1:${address.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    // SDK clients keep connections alive; close() would otherwise wait for them to time out.
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Creates a key in-process (the simulator's keys from the template), as CreateKey would. */
  createKey(input: CreateKeyInput): KeyMetadata {
    return this.store.create(input).metadata();
  }

  /** The key's policy document (JSON text), for the IAM gate's resource-policy check. */
  keyPolicy(keyId: string): string {
    return this.store.find(keyId).policy;
  }

  /** The ARN of the key `keyId` names (key ID, key ARN, alias name or alias ARN), or undefined when
   * it names none: an IAM gate authorizes a request on the key an alias points at. */
  keyArn(keyId: string): string | undefined {
    try {
      return this.store.find(keyId).arn;
    } catch {
      return undefined;
    }
  }

  /** Every key's metadata. */
  keys(): KeyMetadata[] {
    return this.store.all().map((key) => key.metadata());
  }

  /** Calls received per operation (refused and faulted ones included), e.g. `{ Sign: 3 }`. */
  callCounts(): Record<string, number> {
    return Object.fromEntries(this.calls);
  }

  resetCallCounts(): void {
    this.calls.clear();
  }

  /** Answers matching calls with a fault instead of serving them; undefined removes the injector. */
  injectFaults(injector: KmsFaultInjector | undefined): void {
    this.faultInjector = injector;
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const target = request.headers["x-amz-target"];
    const operation =
      typeof target === "string" && target.startsWith(KMS_TARGET_PREFIX)
        ? target.slice(KMS_TARGET_PREFIX.length)
        : "";
    this.calls.set(operation, (this.calls.get(operation) ?? 0) + 1);
    // As at AWS, the caller is checked before the request is read: a refused caller learns nothing
    // about operations or keys.
    let params: Params | KmsApiError;
    try {
      params = parseParams(body);
    } catch (error) {
      if (!(error instanceof KmsApiError)) throw error;
      params = error;
    }
    const refusal = await this.authorize?.({
      method: request.method ?? "",
      url: request.url ?? "/",
      headers: request.headers,
      body,
      operation,
      action: `kms:${operation}`,
      keyArn: params instanceof KmsApiError ? undefined : this.keyArnOf(params),
    });
    if (refusal !== undefined) return send(response, refusal);
    try {
      const handler = request.method === "POST" ? KMS_OPERATIONS[operation] : undefined;
      if (handler === undefined) throw new KmsApiError("UnknownOperationException", "");
      if (params instanceof KmsApiError) throw params;
      const fault = this.faultInjector?.({ operation, keyArn: this.keyArnOf(params) });
      if (fault !== undefined) throw faultError(fault);
      send(response, { status: 200, body: JSON.stringify(handler(params, this.store)) });
    } catch (error) {
      if (!(error instanceof KmsApiError)) throw error;
      send(response, { status: error.status, body: kmsErrorBody(error.code, error.message) });
    }
  }

  /** The ARN of the key a request names, if it names one that exists (for authorization). */
  private keyArnOf(params: Params): string | undefined {
    const keyId = params.KeyId ?? params.TargetKeyId;
    return typeof keyId === "string" ? this.keyArn(keyId) : undefined;
  }
}

/** Renders a KMS error the way KMS sends it, e.g. for an IAM gate's AccessDeniedException. */
export function kmsErrorResponse(code: string, message: string, status = 400): KmsHttpResponse {
  return { status, body: kmsErrorBody(code, message) };
}

function parseParams(body: Buffer): Params {
  let value: unknown;
  try {
    value = body.length === 0 ? {} : JSON.parse(body.toString("utf8"));
  } catch {
    throw new KmsApiError("SerializationException", "Start of structure or map found where not expected.");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new KmsApiError("SerializationException", "Start of structure or map found where not expected.");
  }
  return value as Params;
}

function send(response: ServerResponse, answer: KmsHttpResponse): void {
  response.writeHead(answer.status, {
    "content-type": KMS_CONTENT_TYPE,
    "x-amzn-requestid": randomUUID(),
    ...answer.headers,
  });
  response.end(answer.body);
}

/** The codes and statuses KMS answers with when throttled or failing. */
function faultError(fault: KmsFault): KmsApiError {
  switch (fault) {
    case "throttling":
      return new KmsApiError("ThrottlingException", "Rate exceeded", 400);
    case "internal":
      return new KmsApiError("KMSInternalException", "An internal error has occurred.", 500);
    case "key-unavailable":
      return new KmsApiError("KeyUnavailableException", "The key is unavailable.", 500);
    case "dependency-timeout":
      return new KmsApiError("DependencyTimeoutException", "The request timed out.", 503);
  }
}
