// S3's front end (REST, path-style `/<bucket>/<key>` as the simulator serves it): which permissions a
// request needs, from its method, its path and its sub-resource (`?uploads`, `?policy`…). Object
// operations are authorized on `arn:aws:s3:::<bucket>/<key>`, bucket operations on
// `arn:aws:s3:::<bucket>`; a multipart upload needs s3:PutObject for every step, a copy also
// s3:GetObject on its source, a multi-object delete s3:DeleteObject on each key. The bucket policy
// governs every object in the bucket (policies.ts). S3 words its refusals with the resource quoted.
import { denialMessage } from "./authorize";
import { s3Refusal } from "./denied";
import type { AuthorizationCheck, GateRequest, ServiceFront } from "./front";

export interface S3FrontOptions {
  readonly region: string;
  readonly account: string;
}

type Rule = readonly [subresource: string | undefined, action: string];

/** Bucket operations by method, the first matching sub-resource winning; `undefined` = none. */
const BUCKET_RULES: Readonly<Record<string, readonly Rule[]>> = {
  GET: [
    ["policy", "GetBucketPolicy"],
    ["versioning", "GetBucketVersioning"],
    ["versions", "ListBucketVersions"],
    ["uploads", "ListBucketMultipartUploads"],
    ["location", "GetBucketLocation"],
    ["tagging", "GetBucketTagging"],
    ["acl", "GetBucketAcl"],
    ["encryption", "GetEncryptionConfiguration"],
    ["lifecycle", "GetLifecycleConfiguration"],
    ["object-lock", "GetBucketObjectLockConfiguration"],
    ["cors", "GetBucketCORS"],
    ["publicAccessBlock", "GetBucketPublicAccessBlock"],
    ["ownershipControls", "GetBucketOwnershipControls"],
    ["notification", "GetBucketNotification"],
    ["logging", "GetBucketLogging"],
    ["policyStatus", "GetBucketPolicyStatus"],
    [undefined, "ListBucket"],
  ],
  HEAD: [[undefined, "ListBucket"]],
  PUT: [
    ["policy", "PutBucketPolicy"],
    ["versioning", "PutBucketVersioning"],
    ["tagging", "PutBucketTagging"],
    ["acl", "PutBucketAcl"],
    ["encryption", "PutEncryptionConfiguration"],
    ["lifecycle", "PutLifecycleConfiguration"],
    ["object-lock", "PutBucketObjectLockConfiguration"],
    ["cors", "PutBucketCORS"],
    ["publicAccessBlock", "PutBucketPublicAccessBlock"],
    ["ownershipControls", "PutBucketOwnershipControls"],
    ["notification", "PutBucketNotification"],
    ["logging", "PutBucketLogging"],
    [undefined, "CreateBucket"],
  ],
  DELETE: [
    ["policy", "DeleteBucketPolicy"],
    ["tagging", "PutBucketTagging"],
    ["encryption", "PutEncryptionConfiguration"],
    ["lifecycle", "PutLifecycleConfiguration"],
    ["cors", "PutBucketCORS"],
    ["publicAccessBlock", "PutBucketPublicAccessBlock"],
    ["ownershipControls", "PutBucketOwnershipControls"],
    [undefined, "DeleteBucket"],
  ],
  // POST /<bucket>?delete is resolved from its body; a browser-form POST upload is PutObject.
  POST: [[undefined, "PutObject"]],
};

/** Object operations by method; a versionId turns GetObject/DeleteObject into their Version forms. */
const OBJECT_RULES: Readonly<Record<string, readonly Rule[]>> = {
  GET: [
    ["uploadId", "ListMultipartUploadParts"],
    ["tagging", "GetObjectTagging"],
    ["acl", "GetObjectAcl"],
    ["attributes", "GetObjectAttributes"],
    ["retention", "GetObjectRetention"],
    ["legal-hold", "GetObjectLegalHold"],
    [undefined, "GetObject"],
  ],
  HEAD: [[undefined, "GetObject"]],
  PUT: [
    ["tagging", "PutObjectTagging"],
    ["acl", "PutObjectAcl"],
    ["retention", "PutObjectRetention"],
    ["legal-hold", "PutObjectLegalHold"],
    [undefined, "PutObject"],
  ],
  POST: [
    ["restore", "RestoreObject"],
    ["select", "GetObject"],
    [undefined, "PutObject"],
  ],
  DELETE: [
    ["uploadId", "AbortMultipartUpload"],
    ["tagging", "DeleteObjectTagging"],
    [undefined, "DeleteObject"],
  ],
};

/** The action a request on one version of an object (`?versionId=`) needs instead. */
const VERSIONED: Readonly<Record<string, string>> = {
  GetObject: "GetObjectVersion",
  DeleteObject: "DeleteObjectVersion",
  GetObjectTagging: "GetObjectVersionTagging",
  PutObjectTagging: "PutObjectVersionTagging",
  DeleteObjectTagging: "DeleteObjectVersionTagging",
  GetObjectAcl: "GetObjectVersionAcl",
  PutObjectAcl: "PutObjectVersionAcl",
  GetObjectAttributes: "GetObjectVersionAttributes",
};

export function s3Front(options: S3FrontOptions): ServiceFront {
  return {
    signingName: "s3",
    region: options.region,
    // Only a multi-object delete says in its body what it acts on.
    needsBody: (request) => request.method === "POST" && parse(request.url).query.has("delete"),
    resolve: (request) => resolve(request, options.account),
    refuse: (refusal, request, requestId) =>
      s3Refusal(
        refusal.kind === "denied"
          ? {
              ...refusal,
              message: denialMessage(
                { principalArn: refusal.principalArn, ...refusal.check },
                refusal.reason,
                { quoteResource: true },
              ),
            }
          : refusal,
        request.method,
        requestId,
      ),
  };
}

function resolve(request: GateRequest, account: string): AuthorizationCheck[] {
  const { bucket, key, query } = parse(request.url);
  const context = { ...requestContext(request, query), "s3:ResourceAccount": account };
  if (bucket === undefined) return [{ action: "s3:ListAllMyBuckets", resource: "*", context }];
  const bucketArn = `arn:aws:s3:::${bucket}`;
  if (key === undefined) {
    if (request.method === "POST" && query.has("delete")) {
      return deletedKeys(request.body).map((deleted) => ({
        action: "s3:DeleteObject",
        resource: `${bucketArn}/${deleted}`,
        context,
      }));
    }
    return [{ action: `s3:${operation(BUCKET_RULES, request.method, query)}`, resource: bucketArn, context }];
  }
  const objectArn = `${bucketArn}/${key}`;
  const current = operation(OBJECT_RULES, request.method, query);
  const name = query.has("versionId") ? (VERSIONED[current] ?? current) : current;
  const checks: AuthorizationCheck[] = [{ action: `s3:${name}`, resource: objectArn, context }];
  const source = copySource(request);
  if (source !== undefined && request.method === "PUT") {
    checks.push({ action: "s3:GetObject", resource: `arn:aws:s3:::${source}`, context });
  }
  return checks;
}

function operation(
  rules: Readonly<Record<string, readonly Rule[]>>,
  method: string,
  query: URLSearchParams,
): string {
  const match = (rules[method] ?? []).find(
    ([subresource]) => subresource === undefined || query.has(subresource),
  );
  // A method S3 does not serve on this kind of path: it answers MethodNotAllowed itself.
  return match?.[1] ?? "ListBucket";
}

/** `/<bucket>/<key…>` → bucket and decoded key (the key as its ARN names it). */
function parse(url: string): { bucket: string | undefined; key: string | undefined; query: URLSearchParams } {
  const [path = "/", search = ""] = url.split("?", 2);
  const slash = path.indexOf("/", 1);
  const bucket = decode(slash < 0 ? path.slice(1) : path.slice(1, slash));
  const key = slash < 0 || slash === path.length - 1 ? undefined : decode(path.slice(slash + 1));
  return { bucket: bucket === "" ? undefined : bucket, key, query: new URLSearchParams(search) };
}

/** S3's condition keys this request sets. */
function requestContext(request: GateRequest, query: URLSearchParams): Record<string, string> {
  const context: Record<string, string> = {
    "s3:authType": query.has("X-Amz-Algorithm") ? "REST-QUERY-STRING" : "REST-HEADER",
    "s3:signatureversion": "AWS4-HMAC-SHA256",
  };
  const sha = header(request, "x-amz-content-sha256");
  if (sha !== undefined) context["s3:x-amz-content-sha256"] = sha;
  for (const name of ["prefix", "delimiter", "max-keys"]) {
    const value = query.get(name);
    if (value !== null) context[`s3:${name}`] = value;
  }
  const encryption = header(request, "x-amz-server-side-encryption");
  if (encryption !== undefined) context["s3:x-amz-server-side-encryption"] = encryption;
  return context;
}

/** The `<bucket>/<key>` an `x-amz-copy-source` header names (without a `?versionId`). */
function copySource(request: GateRequest): string | undefined {
  const source = header(request, "x-amz-copy-source");
  if (source === undefined) return undefined;
  return decode(source.split("?")[0] ?? "").replace(/^\//, "");
}

/** The keys of a DeleteObjects body: `<Delete><Object><Key>…</Key></Object>…</Delete>`. */
function deletedKeys(body: Buffer | undefined): string[] {
  const keys = [...(body?.toString("utf8") ?? "").matchAll(/<Key>([^<]*)<\/Key>/g)].map(([, key = ""]) =>
    key.replace(/&(lt|gt|amp|quot|apos);/g, (_, entity: string) => XML_ENTITIES[entity] ?? ""),
  );
  // No keys: S3 answers MalformedXML; authorize as "any object" meanwhile.
  return keys.length === 0 ? ["*"] : keys;
}

const XML_ENTITIES: Readonly<Record<string, string>> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function header(request: GateRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
