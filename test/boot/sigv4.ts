// Checks an AWS Signature Version 4 on a request the way the service would, so the boot-script
// tests prove the script signs with the instance role's credentials and not only that it sends a header.
import { createHash, createHmac } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

export interface SignedRequest {
  readonly method: string;
  /** Path and query as sent, e.g. `/v1/nodes/i-1/config?format=env`. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface ExpectedSigner {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  readonly service: string;
}

const AUTHORIZATION_PATTERN =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/** Returns undefined when the signature is valid, else what is wrong with it. */
export function sigv4Problem(request: SignedRequest, signer: ExpectedSigner): string | undefined {
  const authorization = request.headers.authorization;
  if (typeof authorization !== "string") return "no Authorization header";
  const match = AUTHORIZATION_PATTERN.exec(authorization);
  if (!match) return `Authorization is not SigV4: ${authorization}`;
  const [, accessKeyId, day, region, service, signedHeaders, signature] = match as unknown as string[];
  if (accessKeyId !== signer.accessKeyId) return `signed with access key ${accessKeyId}`;
  if (region !== signer.region || service !== signer.service) return `scope is ${region}/${service}`;
  const amzDate = request.headers["x-amz-date"];
  if (typeof amzDate !== "string" || !amzDate.startsWith(day ?? "")) return "x-amz-date missing or off-scope";

  const [path = "/", query = ""] = request.url.split("?", 2);
  const canonicalQuery = query
    .split("&")
    .filter((pair) => pair !== "")
    .sort()
    .join("&");
  const headerNames = (signedHeaders ?? "").split(";");
  const canonicalHeaders = headerNames
    .map((name) => `${name}:${String(request.headers[name] ?? "").trim()}\n`)
    .join("");
  const canonicalRequest = [
    request.method,
    path,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders,
    sha256Hex(request.body),
  ].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  let key: Buffer = hmac(`AWS4${signer.secretAccessKey}`, day ?? "");
  for (const part of [region ?? "", service ?? "", "aws4_request"]) key = hmac(key, part);
  const expected = createHmac("sha256", key).update(stringToSign).digest("hex");
  return expected === signature ? undefined : "signature does not match the canonical request";
}

function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}
