// Verifies an AWS Signature Version 4 on an incoming request as a service front end does: read the
// Authorization header (or a presigned URL's X-Amz-* query), rebuild the canonical request from the
// signed headers, derive the signing key from the secret of the presented access key and compare
// signatures. Returns the verified access key and the credential scope (which region and service the
// caller signed for), or what is wrong, named so that each service can answer in its own words.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

export interface SignedRequest {
  readonly method: string;
  /** Path and query as sent, e.g. `/v1/nodes/i-1/config?format=env`. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /**
   * The whole body, or undefined when it is streamed past unread: the payload hash is then the
   * `x-amz-content-sha256` header (S3), which the request must carry.
   */
  readonly body: Buffer | undefined;
}

export interface SigningSecret {
  readonly secretAccessKey: string;
  /** The session token the request must carry (x-amz-security-token); none for an IAM user's key. */
  readonly sessionToken?: string | undefined;
  /** After this the credentials are refused as expired. */
  readonly expiration?: Date | undefined;
}

export interface CredentialScope {
  readonly accessKeyId: string;
  /** `YYYYMMDD` */
  readonly day: string;
  readonly region: string;
  readonly service: string;
}

/** Why a signature is refused; each service has its own error code for each. */
export type SignatureProblem =
  /** Neither an Authorization header nor a presigned query. */
  | "missing"
  /** An Authorization header or presigned query that is not a well-formed AWS4-HMAC-SHA256 one. */
  | "incomplete"
  /** Signed for another region or service than the one called. */
  | "scope"
  /** An access key nobody issued. */
  | "unknown-key"
  /** The session token is missing or is not the one issued with the key. */
  | "invalid-token"
  /** The credentials are past their expiration. */
  | "expired-token"
  /** The request's date is too far from now, or a presigned URL has expired. */
  | "expired-request"
  /** The signature is not the one the secret gives. */
  | "mismatch"
  /** `x-amz-content-sha256` is not the SHA-256 of the body sent. */
  | "content-sha256-mismatch";

/** How the payload was covered by the signature. */
export type PayloadSigning = "signed" | "unsigned" | "streaming";

export type Verification =
  | {
      readonly ok: true;
      readonly accessKeyId: string;
      readonly scope: CredentialScope;
      readonly payload: PayloadSigning;
    }
  | {
      readonly ok: false;
      readonly problem: SignatureProblem;
      readonly reason: string;
      /** The scope as presented, when the request got that far. */
      readonly scope?: CredentialScope;
    };

/** AWS refuses requests whose date is more than 15 minutes off. */
const MAX_SKEW_MS = 15 * 60 * 1000;
/** A presigned URL lives at most 7 days. */
const MAX_PRESIGNED_SECONDS = 7 * 24 * 3600;
const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";

interface Presented {
  readonly scope: CredentialScope;
  readonly signedHeaders: string;
  readonly signature: string;
  readonly amzDate: string;
  readonly sessionToken: string | undefined;
  /** Seconds a presigned URL is valid for; undefined for header authentication. */
  readonly expiresSeconds: number | undefined;
}

/**
 * The credential scope a request presents, without checking anything: lets a front end serving
 * several services tell which one a request is for before verifying it.
 */
export function credentialScope(
  request: Pick<SignedRequest, "url" | "headers">,
): CredentialScope | undefined {
  const presented = present(request);
  return presented === "missing" || "problem" in presented ? undefined : presented.scope;
}

export function verifySigV4(
  request: SignedRequest,
  expected: { readonly region: string; readonly service: string },
  secretFor: (accessKeyId: string) => SigningSecret | undefined,
  now = Date.now(),
): Verification {
  const presented = present(request);
  if (presented === "missing") return refuse("missing", "Missing Authentication Token");
  if ("problem" in presented) return presented;
  const { scope } = presented;
  if (scope.region !== expected.region || scope.service !== expected.service) {
    return refuse(
      "scope",
      `Credential should be scoped to ${expected.region}/${expected.service}, not ${scope.region}/${scope.service}`,
      scope,
    );
  }
  const secret = secretFor(scope.accessKeyId);
  if (secret === undefined) {
    return refuse("unknown-key", "The security token included in the request is invalid.", scope);
  }
  if (presented.sessionToken !== secret.sessionToken) {
    return refuse("invalid-token", "The security token included in the request is invalid.", scope);
  }
  if (secret.expiration !== undefined && now >= secret.expiration.getTime()) {
    return refuse("expired-token", "The security token included in the request is expired", scope);
  }
  const names = presented.signedHeaders.split(";");
  if (!names.includes("host")) {
    return refuse("incomplete", "'Host' must be a 'SignedHeader' in the AWS Authorization.", scope);
  }
  const signedAt = parseAmzDate(presented.amzDate);
  if (signedAt === undefined || !presented.amzDate.startsWith(scope.day)) {
    return refuse(
      "incomplete",
      "X-Amz-Date is missing, not ISO 8601 basic format or not in the credential scope",
      scope,
    );
  }
  const expiry = requestExpiry(signedAt, presented.expiresSeconds, now);
  if (expiry !== undefined) return refuse("expired-request", expiry, scope);

  const payload = payloadHash(request, presented, expected.service);
  if (typeof payload === "object") return { ...payload, scope };
  const [path = "/", query = ""] = request.url.split("?", 2);
  const canonicalRequest = [
    request.method,
    canonicalPath(path, expected.service),
    canonicalQuery(query),
    names.map((name) => `${name}:${headerValue(request.headers[name])}\n`).join(""),
    presented.signedHeaders,
    payload,
  ].join("\n");
  const scopeString = `${scope.day}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", presented.amzDate, scopeString, sha256(canonicalRequest)].join(
    "\n",
  );
  let key = hmac(`AWS4${secret.secretAccessKey}`, scope.day);
  for (const part of [scope.region, scope.service, "aws4_request"]) key = hmac(key, part);
  const computed = createHmac("sha256", key).update(stringToSign).digest();
  if (!timingSafeEqual(computed, Buffer.from(presented.signature, "hex"))) {
    return refuse(
      "mismatch",
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
      scope,
    );
  }
  return {
    ok: true,
    accessKeyId: scope.accessKeyId,
    scope,
    payload:
      payload === UNSIGNED_PAYLOAD ? "unsigned" : payload.startsWith("STREAMING-") ? "streaming" : "signed",
  };
}

function refuse(
  problem: SignatureProblem,
  reason: string,
  scope?: CredentialScope,
): Extract<Verification, { ok: false }> {
  return scope === undefined ? { ok: false, problem, reason } : { ok: false, problem, reason, scope };
}

/** What the request presents: from the Authorization header, or from a presigned URL's query. */
function present(
  request: Pick<SignedRequest, "url" | "headers">,
): Presented | "missing" | Extract<Verification, { ok: false }> {
  const authorization = request.headers.authorization;
  const query = new URLSearchParams(request.url.split("?", 2)[1] ?? "");
  const presigned = query.get("X-Amz-Algorithm");
  if (typeof authorization === "string" && presigned !== null) {
    return refuse(
      "incomplete",
      "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
    );
  }
  if (typeof authorization === "string") {
    const match = /^AWS4-HMAC-SHA256 (.*)$/.exec(authorization.trim());
    if (!match) return refuse("incomplete", "Authorization header is not an AWS4-HMAC-SHA256 signature");
    const fields = new Map(
      (match[1] ?? "").split(",").map((field) => {
        const [name = "", ...value] = field.trim().split("=");
        return [name, value.join("=")] as const;
      }),
    );
    return presentation(
      fields.get("Credential"),
      fields.get("SignedHeaders"),
      fields.get("Signature"),
      headerValue(request.headers["x-amz-date"]),
      optionalHeader(request.headers["x-amz-security-token"]),
      undefined,
    );
  }
  if (presigned === null) return "missing";
  if (presigned !== "AWS4-HMAC-SHA256") {
    return refuse("incomplete", `Unsupported X-Amz-Algorithm ${presigned}: only AWS4-HMAC-SHA256`);
  }
  const expires = Number(query.get("X-Amz-Expires"));
  if (!Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGNED_SECONDS) {
    return refuse("incomplete", `X-Amz-Expires must be an integer from 1 to ${MAX_PRESIGNED_SECONDS}`);
  }
  return presentation(
    query.get("X-Amz-Credential") ?? undefined,
    query.get("X-Amz-SignedHeaders") ?? undefined,
    query.get("X-Amz-Signature") ?? undefined,
    query.get("X-Amz-Date") ?? "",
    query.get("X-Amz-Security-Token") ?? undefined,
    expires,
  );
}

function presentation(
  credential: string | undefined,
  signedHeaders: string | undefined,
  signature: string | undefined,
  amzDate: string,
  sessionToken: string | undefined,
  expiresSeconds: number | undefined,
): Presented | Extract<Verification, { ok: false }> {
  const parts = credential?.split("/") ?? [];
  const [accessKeyId = "", day = "", region = "", service = "", terminator] = parts;
  if (parts.length !== 5 || terminator !== "aws4_request" || !/^\d{8}$/.test(day) || accessKeyId === "") {
    return refuse(
      "incomplete",
      `Credential must be keyid/YYYYMMDD/region/service/aws4_request, got '${credential}'`,
    );
  }
  if (signedHeaders === undefined || !/^[a-z0-9-]+(;[a-z0-9-]+)*$/.test(signedHeaders)) {
    return refuse("incomplete", "SignedHeaders must be lowercase header names separated by ';'");
  }
  if (signature === undefined || !/^[0-9a-f]{64}$/.test(signature)) {
    return refuse("incomplete", "Signature must be 64 lowercase hex digits");
  }
  return {
    scope: { accessKeyId, day, region, service },
    signedHeaders,
    signature,
    amzDate,
    sessionToken,
    expiresSeconds,
  };
}

/** Why the request is too old (or too far ahead) to be served, or undefined when it is in time. */
function requestExpiry(
  signedAt: number,
  expiresSeconds: number | undefined,
  now: number,
): string | undefined {
  if (expiresSeconds !== undefined) {
    if (signedAt - now > MAX_SKEW_MS) return "Request is not yet valid";
    return now > signedAt + expiresSeconds * 1000 ? "Request has expired" : undefined;
  }
  if (Math.abs(now - signedAt) <= MAX_SKEW_MS) return undefined;
  return `Signature expired: ${formatAmzDate(signedAt)} is now earlier than ${formatAmzDate(now - MAX_SKEW_MS)} (${formatAmzDate(now)} - 15 min.)`;
}

/**
 * The payload line of the canonical request. S3 signs whatever `x-amz-content-sha256` says (a hash,
 * UNSIGNED-PAYLOAD or a STREAMING-* mode) and checks a hash against the body; every other service
 * hashes the body itself, whatever a client declares.
 */
function payloadHash(
  request: SignedRequest,
  presented: Presented,
  service: string,
): string | Extract<Verification, { ok: false }> {
  const declared = optionalHeader(request.headers["x-amz-content-sha256"]);
  if (service !== "s3" && request.body !== undefined) return sha256(request.body);
  if (declared === undefined) {
    if (presented.expiresSeconds !== undefined) return UNSIGNED_PAYLOAD;
    if (request.body === undefined) {
      return refuse("incomplete", "Missing required header for this request: x-amz-content-sha256");
    }
    return sha256(request.body);
  }
  if (/^[0-9a-f]{64}$/.test(declared)) {
    if (request.body !== undefined && sha256(request.body) !== declared) {
      return refuse(
        "content-sha256-mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
      );
    }
    return declared;
  }
  if (declared === UNSIGNED_PAYLOAD || declared.startsWith("STREAMING-")) return declared;
  return refuse(
    "incomplete",
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.",
  );
}

/**
 * S3 signs the path as sent; every other service normalises it (drops `.`, `..` and empty segments)
 * and URI-encodes the already encoded path once more, as the SDKs do when they sign.
 */
function canonicalPath(path: string, service: string): string {
  if (service === "s3") return path;
  const segments: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && path.endsWith("/") ? "/" : "";
  return `/${segments.map(uriEscape).join("/")}${trailing}`;
}

/** Each name and value decoded, then RFC 3986-encoded; sorted by name, then value; no signature. */
function canonicalQuery(query: string): string {
  return query
    .split("&")
    .filter((pair) => pair !== "")
    .map((pair) => {
      const at = pair.indexOf("=");
      const [name, value] = at < 0 ? [pair, ""] : [pair.slice(0, at), pair.slice(at + 1)];
      return [uriEscape(decode(name)), uriEscape(decode(value))] as const;
    })
    .filter(([name]) => name !== "X-Amz-Signature")
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** RFC 3986: everything but unreserved characters percent-encoded. */
function uriEscape(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function optionalHeader(value: string | string[] | undefined): string | undefined {
  return value === undefined ? undefined : headerValue(value);
}

function headerValue(value: string | string[] | undefined): string {
  const joined = Array.isArray(value) ? value.join(",") : (value ?? "");
  return joined.trim().replace(/\s+/g, " ");
}

/** `20240102T030405Z` → epoch ms. */
function parseAmzDate(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

function formatAmzDate(epochMs: number): string {
  return new Date(epochMs)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}
