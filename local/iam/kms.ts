// KMS's front end (JSON 1.1, `X-Amz-Target: TrentService.<Operation>`): which permissions a request
// needs. Key operations (Sign, GetPublicKey, DescribeKey…) are authorized on the key's ARN whatever
// the request names it by (key ID, key ARN, alias name or alias ARN; an alias also sets
// `kms:RequestAlias`); alias operations on the alias and its key; CreateKey, ListKeys and the like on
// `*`. The key policy is what KMS evaluates first: the KMS server's own copy when it gives one (keys
// made at run time), else the template's, else KMS's default (authorize.ts).

import type { Principal } from "./credentials";
import { jsonRefusal } from "./denied";
import type { AuthorizationCheck, GateRequest, ServiceFront } from "./front";
import { jsonInput, targetOperation } from "./json-request";
import type { PolicyDocument } from "./policies";

export interface KmsFrontOptions {
  readonly region: string;
  readonly account: string;
  /**
   * The ARN of the key a KeyId names (key ID, key ARN, alias name or alias ARN), if it exists; the
   * KMS server knows its aliases (KmsEmulator.keyArn).
   * @default key IDs and key ARNs only; no aliases
   */
  readonly keyArn?: (keyId: string) => string | undefined;
  /**
   * A key's policy as the KMS server holds it (KmsEmulator.keyPolicy, parsed).
   * @default the policy set's, else KMS's default key policy
   */
  readonly keyPolicy?: (keyArn: string) => PolicyDocument | undefined;
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
  const onKey = (keyAction: string, keyId: unknown) => keyCheck(keyAction, keyId, context, options);
  switch (operation) {
    case "CreateAlias":
    case "UpdateAlias":
      return [
        { action, resource: aliasArn(String(input.AliasName ?? "alias/*"), options), context },
        onKey(action, input.TargetKeyId),
      ];
    case "DeleteAlias":
      return [
        { action, resource: aliasArn(String(input.AliasName ?? "alias/*"), options), context },
        onKey(action, input.AliasName),
      ];
    case "ReEncrypt":
      return [
        onKey("kms:ReEncryptFrom", input.SourceKeyId),
        onKey("kms:ReEncryptTo", input.DestinationKeyId),
      ];
    default:
      return [onKey(action, input.KeyId)];
  }
}

/** The check of `action` on the key `keyId` names; for an alias, also which alias was asked for. */
function keyCheck(
  action: string,
  keyId: unknown,
  context: Readonly<Record<string, string>>,
  options: KmsFrontOptions,
): AuthorizationCheck {
  if (typeof keyId !== "string" || keyId === "") return { action, resource: "*", context };
  const alias = ALIAS.test(keyId) ? keyId.replace(ARN_PREFIX, "") : undefined;
  const resource = options.keyArn?.(keyId) ?? (alias === undefined ? keyArn(keyId, options) : "*");
  const keyPolicy = resource === "*" ? undefined : options.keyPolicy?.(resource);
  return {
    action,
    resource,
    context: alias === undefined ? context : { ...context, "kms:RequestAlias": alias },
    ...(keyPolicy === undefined ? {} : { resourcePolicy: keyPolicy }),
  };
}

const ALIAS = /^(arn:aws[a-z-]*:kms:[^:]+:\d{12}:)?alias\//;
const ARN_PREFIX = /^arn:[^:]+:kms:[^:]+:\d{12}:/;

/** A key ID or key ARN → the key's ARN (an alias this front cannot resolve has none: `*`). */
function keyArn(keyId: string, options: KmsFrontOptions): string {
  return keyId.startsWith("arn:") ? keyId : `arn:aws:kms:${options.region}:${options.account}:key/${keyId}`;
}

function aliasArn(name: string, options: KmsFrontOptions): string {
  return name.startsWith("arn:") ? name : `arn:aws:kms:${options.region}:${options.account}:${name}`;
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
