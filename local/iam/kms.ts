// KMS's front end (JSON 1.1, `X-Amz-Target: TrentService.<Operation>`): which permissions a request
// needs. Key operations (Sign, GetPublicKey, DescribeKey…) are authorized on the key's ARN whatever
// the request names it by (key ID, key ARN, alias name or alias ARN; an alias also sets
// `kms:RequestAlias`); alias operations on the alias and its key; CreateKey, ListKeys and the like on
// `*`. The key policy is what KMS evaluates first: authorize.ts gives every key one.

import type { Principal } from "./credentials";
import { jsonRefusal } from "./denied";
import type { AuthorizationCheck, GateRequest, ServiceFront } from "./front";
import { jsonInput, targetOperation } from "./json-request";

export interface KmsFrontOptions {
  readonly region: string;
  readonly account: string;
  /**
   * The key ARN an alias (`alias/<name>` or its ARN) points at, if any; the KMS server knows.
   * @default no aliases
   */
  readonly aliasTarget?: (aliasArn: string) => string | undefined;
}

const TARGET_PREFIX = "TrentService.";

/** Operations without a key: authorized on `*`. */
const NO_RESOURCE = new Set([
  "CreateKey",
  "ListKeys",
  "ListAliases",
  "GenerateRandom",
  "ListRetirableGrants",
  "CreateCustomKeyStore",
  "DescribeCustomKeyStores",
  "ConnectCustomKeyStore",
  "DisconnectCustomKeyStore",
  "DeleteCustomKeyStore",
  "UpdateCustomKeyStore",
]);

export function kmsFront(options: KmsFrontOptions): ServiceFront {
  return {
    signingName: "kms",
    region: options.region,
    needsBody: () => true,
    resolve: (request, caller) => resolve(request, caller, options),
    refuse: (refusal, _request, requestId) => jsonRefusal({ version: "1.1" }, refusal, requestId),
  };
}

function resolve(request: GateRequest, caller: Principal, options: KmsFrontOptions): AuthorizationCheck[] {
  const operation = targetOperation(request, TARGET_PREFIX);
  // Not a KMS call: the server answers UnknownOperationException without acting.
  if (operation === undefined) return [];
  const input = jsonInput(request);
  const action = `kms:${operation}`;
  const context: Record<string, string> = { "kms:CallerAccount": caller.account, ...requestContext(input) };
  if (NO_RESOURCE.has(operation)) return [{ action, resource: "*", context }];
  const { region, account } = options;
  const aliasArn = (name: string) =>
    name.startsWith("arn:") ? name : `arn:aws:kms:${region}:${account}:${name}`;
  /** A key named by ID, ARN or alias → the key's ARN and, for an alias, the alias asked for. */
  const key = (keyId: unknown): { arn: string; alias?: string } => {
    if (typeof keyId !== "string" || keyId === "") return { arn: "*" };
    if (/^(arn:aws[a-z-]*:kms:[^:]+:\d{12}:)?alias\//.test(keyId)) {
      const alias = aliasArn(keyId);
      return { arn: options.aliasTarget?.(alias) ?? "*", alias };
    }
    return { arn: keyId.startsWith("arn:") ? keyId : `arn:aws:kms:${region}:${account}:key/${keyId}` };
  };
  switch (operation) {
    case "CreateAlias":
    case "UpdateAlias":
      return [
        { action, resource: aliasArn(String(input.AliasName ?? "alias/*")), context },
        { action, resource: key(input.TargetKeyId).arn, context },
      ];
    case "DeleteAlias": {
      const alias = aliasArn(String(input.AliasName ?? "alias/*"));
      return [
        { action, resource: alias, context },
        { action, resource: options.aliasTarget?.(alias) ?? "*", context },
      ];
    }
    case "ReEncrypt":
      return [
        { action: "kms:ReEncryptFrom", resource: key(input.SourceKeyId).arn, context },
        { action: "kms:ReEncryptTo", resource: key(input.DestinationKeyId).arn, context },
      ];
    default: {
      const { arn, alias } = key(input.KeyId);
      return [
        {
          action,
          resource: arn,
          context:
            alias === undefined
              ? context
              : { ...context, "kms:RequestAlias": alias.replace(/^arn:[^:]+:kms:[^:]+:\d{12}:/, "") },
        },
      ];
    }
  }
}

/** The request's own condition keys: algorithms, message type, the key spec asked for. */
function requestContext(input: Record<string, unknown>): Record<string, string> {
  const keys: Record<string, string> = {};
  const copy = (field: string, key: string) => {
    if (typeof input[field] === "string") keys[key] = input[field];
  };
  copy("SigningAlgorithm", "kms:SigningAlgorithm");
  copy("MessageType", "kms:MessageType");
  copy("EncryptionAlgorithm", "kms:EncryptionAlgorithm");
  copy("KeySpec", "kms:KeySpec");
  copy("KeyUsage", "kms:KeyUsage");
  copy("Origin", "kms:KeyOrigin");
  return keys;
}
