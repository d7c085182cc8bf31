// Verifies an AWS Signature Version 4 on an incoming request as a service front end does: parse
// the Authorization header, rebuild the canonical request from the signed headers, derive the
// signing key from the secret of the presented access key and compare signatures. Returns the
// verified access key, or why the request is refused.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

export interface SignedRequest {
  readonly method: string;
  /** Path and query as sent, e.g. `/v1/nodes/i-1/config?format=env`. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface SigningSecret {
  readonly secretAccessKey: string;
  /** The session token the request must carry in x-amz-security-token. */
  readonly sessionToken: string;
}

export type Verification =
  | { readonly ok: true; readonly accessKeyId: string }
  | { readonly ok: false; readonly reason: string };

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([A-Z0-9]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
/** AWS refuses requests whose date is more than 15 minutes off. */
const MAX_SKEW_MS = 15 * 60 * 1000;

export function verifySigV4(
  request: SignedRequest,
  expected: { readonly region: string; readonly service: string },
  secretFor: (accessKeyId: string) => SigningSecret | undefined,
  now = Date.now(),
): Verification {
  const authorization = request.headers.authorization;
  if (typeof authorization !== "string") return refuse("Missing Authentication Token");
  const match = AUTHORIZATION.exec(authorization);
  if (!match) return refuse("Authorization header is not an AWS4-HMAC-SHA256 signature");
  const [, accessKeyId = "", day = "", region, service, signedHeaders = "", signature = ""] = match;
  if (region !== expected.region || service !== expected.service) {
    return refuse(
      `Credential should be scoped to ${expected.region}/${expected.service}, not ${region}/${service}`,
    );
  }
  const secret = secretFor(accessKeyId);
  if (secret === undefined) return refuse("The security token included in the request is invalid");
  if (request.headers["x-amz-security-token"] !== secret.sessionToken) {
    return refuse("The security token included in the request is invalid");
  }
  const names = signedHeaders.split(";");
  if (!names.includes("host") || !names.includes("x-amz-date")) {
    return refuse("SignedHeaders must include host and x-amz-date");
  }
  const amzDate = headerValue(request.headers["x-amz-date"]);
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined || !amzDate.startsWith(day)) {
    return refuse("x-amz-date is missing or not in the credential scope");
  }
  if (Math.abs(now - signedAt) > MAX_SKEW_MS) return refuse("Signature expired");

  const [path = "/", query = ""] = request.url.split("?", 2);
  const canonicalQuery = query
    .split("&")
    .filter((pair) => pair !== "")
    .map((pair) => (pair.includes("=") ? pair : `${pair}=`))
    .sort()
    .join("&");
  const canonicalHeaders = names.map((name) => `${name}:${headerValue(request.headers[name])}\n`).join("");
  const canonicalRequest = [
    request.method,
    path,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders,
    sha256(request.body),
  ].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonicalRequest)].join("\n");
  let key = hmac(`AWS4${secret.secretAccessKey}`, day);
  for (const part of [region, service, "aws4_request"]) key = hmac(key, part);
  const computed = createHmac("sha256", key).update(stringToSign).digest();
  if (!timingSafeEqual(computed, Buffer.from(signature, "hex"))) {
    return refuse(
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
    );
  }
  return { ok: true, accessKeyId };
}

function refuse(reason: string): Verification {
  return { ok: false, reason };
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

function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}
