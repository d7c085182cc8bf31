// Parses a Lambda function URL request (payload 2.0, AWS_IAM auth) into a node API request:
// GET /v1/nodes/{instanceId}/config?format=env|flags|dropin|json&wait=0..10&standby=0|1&etcd=3.5.21,
// POST to the same with the node's PEM certificate signing request as the body (format=env only: the
// answer carries the node's certificates with its configuration),
// POST /v1/nodes/{instanceId}/ready,
// POST /v1/nodes/{instanceId}/certificates with a PEM certificate signing request as the body.
import { EtcdAsgError } from "../errors";
import * as z from "../schema";
import { FORMATS, type Format } from "./render";

export class BadRequestError extends EtcdAsgError {
  override readonly name = "BadRequestError";
  constructor(
    message: string,
    readonly status: 400 | 404 | 405 = 400,
  ) {
    super(message);
  }
}

const ROUTE = /^\/v1\/nodes\/([^/]{1,64})\/(config|ready|certificates)$/;
/** A CSR is a few hundred bytes. */
const MAX_CSR_BYTES = 16 * 1024;
const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;
/** The longest a config request may wait for its answer: well inside the function's timeout. */
export const MAX_WAIT_SECONDS = 10;

const upTo = (max: number) => z.string().check(z.maxLength(max));

const eventSchema = z.object({
  rawPath: upTo(256),
  queryStringParameters: z.optional(z.record(z.string(), upTo(64))),
  requestContext: z.object({
    http: z.object({ method: upTo(16) }),
    authorizer: z.optional(z.object({ iam: z.optional(z.object({ userArn: z.optional(upTo(2048)) })) })),
  }),
  // Only a CSR is read from a body (and bounded); a request that carries none ignores whatever comes.
  body: z.optional(z.string()),
  isBase64Encoded: z.optional(z.boolean()),
});

export type NodeRequest =
  | {
      readonly route: "config";
      readonly instanceId: string;
      readonly format: Format;
      /** How long to hold a "wait" answer for the ledger to move (long polling); 0 answers at once. */
      readonly waitMs: number;
      /** The caller stands by for a slot: a "not-a-member" answer is held like a "wait". */
      readonly standby: boolean;
      /** The etcd release the node installed (MAJOR.MINOR.PATCH), when it says. */
      readonly etcdVersion: string | undefined;
      /** The node's certificate signing request (PEM), when it POSTs one: the answer carries its
       * certificates when it starts etcd. */
      readonly csr: string | undefined;
      readonly callerArn: string | undefined;
    }
  | { readonly route: "ready"; readonly instanceId: string; readonly callerArn: string | undefined }
  | {
      readonly route: "certificates";
      readonly instanceId: string;
      /** The node's certificate signing request (PEM). */
      readonly csr: string;
      readonly callerArn: string | undefined;
    };

export function parseNodeRequest(event: unknown): NodeRequest {
  const parsed = eventSchema.safeParse(event);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BadRequestError(
      `malformed request: ${issue?.path.join(".") || "event"}: ${issue?.message ?? "invalid"}`,
    );
  }
  const { rawPath, queryStringParameters, requestContext, body, isBase64Encoded } = parsed.data;
  const callerArn = requestContext.authorizer?.iam?.userArn;
  const match = ROUTE.exec(rawPath);
  if (match === null) throw new BadRequestError(`no such resource: ${rawPath.slice(0, 80)}`, 404);
  const [, instanceId = "", route] = match;
  if (!INSTANCE_ID.test(instanceId)) {
    throw new BadRequestError(
      `instance ID ${JSON.stringify(instanceId)} is not an EC2 instance ID (i-0123456789abcdef0)`,
    );
  }
  const method = requestContext.http.method.toUpperCase();
  if (route === "ready") {
    if (method !== "POST") throw new BadRequestError(`ready takes POST, not ${method}`, 405);
    return { route, instanceId, callerArn };
  }
  if (route === "certificates") {
    if (method !== "POST") throw new BadRequestError(`certificates takes POST, not ${method}`, 405);
    return { route, instanceId, csr: csrBody(route, body, isBase64Encoded), callerArn };
  }
  if (method !== "GET" && method !== "POST") {
    throw new BadRequestError(`config takes GET, or POST with a CSR, not ${method}`, 405);
  }
  const format = queryStringParameters?.format ?? "env";
  if (!isFormat(format)) {
    throw new BadRequestError(
      `format must be one of ${FORMATS.join(", ")}; received ${JSON.stringify(format)}`,
    );
  }
  const csr = method === "POST" ? csrBody("config", body, isBase64Encoded) : undefined;
  if (csr !== undefined && format !== "env") {
    throw new BadRequestError(
      `a config request with a CSR is answered with certificates, which only format=env carries; received format=${format}`,
    );
  }
  return {
    route: "config",
    instanceId,
    format,
    waitMs: waitSeconds(queryStringParameters?.wait) * 1000,
    standby: flag("standby", queryStringParameters?.standby),
    etcdVersion: etcdVersion(queryStringParameters?.etcd),
    csr,
    callerArn,
  };
}

/** The PEM CSR a request carries as its body; a function URL base64-encodes a body whose content
 * type it does not take for text. */
function csrBody(route: string, body: string | undefined, isBase64Encoded: boolean | undefined): string {
  const raw = body ?? "";
  const csr =
    isBase64Encoded === true && raw.length <= 2 * MAX_CSR_BYTES
      ? Buffer.from(raw, "base64").toString("utf8")
      : raw;
  if (csr.trim() === "" || csr.length > MAX_CSR_BYTES) {
    throw new BadRequestError(
      `${route} takes POST with the node's certificate signing request (PEM, at most ${MAX_CSR_BYTES} bytes) as its body`,
    );
  }
  return csr;
}

function waitSeconds(value: string | undefined): number {
  if (value === undefined) return 0;
  const seconds = /^\d{1,2}$/.test(value) ? Number(value) : Number.NaN;
  if (!(seconds <= MAX_WAIT_SECONDS)) {
    throw new BadRequestError(
      `wait must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}; received ${JSON.stringify(value)}`,
    );
  }
  return seconds;
}

function etcdVersion(value: string | undefined): string | undefined {
  if (value === undefined || /^\d{1,4}\.\d{1,4}\.\d{1,4}$/.test(value)) return value;
  throw new BadRequestError(
    `etcd must be the installed etcd release as MAJOR.MINOR.PATCH (e.g. 3.5.21); received ${JSON.stringify(value)}`,
  );
}

function isFormat(value: string): value is Format {
  return FORMATS.some((f) => f === value);
}

function flag(name: string, value: string | undefined): boolean {
  if (value === undefined || value === "0") return false;
  if (value === "1") return true;
  throw new BadRequestError(`${name} must be 0 or 1; received ${JSON.stringify(value)}`);
}
