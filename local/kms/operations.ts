// The KMS operations the emulator serves, on the JSON 1.1 request members (blobs in base64) and
// answering what KMS answers: CreateKey, DescribeKey, GetPublicKey, Sign, Verify, CreateAlias,
// EnableKey, DisableKey. Member checks come first, in KMS's words, then the key lookup.
import { KmsApiError, missingMember, notInEnum, validationError } from "./api-error";
import {
  KEY_SPECS,
  KEY_USAGES,
  type KeySpec,
  type KeyStore,
  type KeyUsage,
  MESSAGE_TYPES,
  type MessageType,
} from "./keys";

export type Params = Readonly<Record<string, unknown>>;
export type Operation = (params: Params, store: KeyStore) => unknown;

/** KMS accepts at most 4096 bytes in a Sign or Verify message. */
const MAX_MESSAGE_BYTES = 4096;

export const KMS_OPERATIONS: Readonly<Record<string, Operation>> = {
  CreateKey: (params, store) => {
    const keySpec = emulated(params, "KeySpec", "keySpec", KEY_SPECS) ?? "SYMMETRIC_DEFAULT";
    const keyUsage = emulated(params, "KeyUsage", "keyUsage", KEY_USAGES);
    const policy = optionalString(params, "Policy", "policy");
    if (policy !== undefined) requirePolicyJson(policy);
    const description = optionalString(params, "Description", "description");
    return {
      KeyMetadata: store
        .create({
          keySpec,
          keyUsage: usageFor(keySpec, keyUsage),
          ...(description === undefined ? {} : { description }),
          ...(policy === undefined ? {} : { policy }),
        })
        .metadata(),
    };
  },

  DescribeKey: (params, store) => ({
    KeyMetadata: store.find(requiredString(params, "KeyId", "keyId")).metadata(),
  }),

  GetPublicKey: (params, store) => {
    const key = store.usable(requiredString(params, "KeyId", "keyId"));
    const publicKey = key.publicKey();
    const { KeySpec, KeyUsage } = key.metadata();
    return {
      KeyId: key.arn,
      PublicKey: publicKey.toString("base64"),
      CustomerMasterKeySpec: KeySpec,
      KeySpec,
      KeyUsage,
      SigningAlgorithms: key.signingAlgorithms,
    };
  },

  Sign: (params, store) => {
    const request = signingRequest(params);
    const key = store.usable(request.keyId);
    const signature = key.sign(request.message, request.messageType, request.algorithm);
    return { KeyId: key.arn, Signature: signature.toString("base64"), SigningAlgorithm: request.algorithm };
  },

  Verify: (params, store) => {
    const request = signingRequest(params);
    const signature = requiredBlob(params, "Signature", "signature");
    if (signature.length === 0) {
      throw validationError("signature", "", "Member must have length greater than or equal to 1");
    }
    const key = store.usable(request.keyId);
    if (!key.verify(request.message, request.messageType, signature, request.algorithm)) {
      // KMS answers an invalid signature with this error, not with SignatureValid: false.
      throw new KmsApiError("KMSInvalidSignatureException", "");
    }
    return { KeyId: key.arn, SignatureValid: true, SigningAlgorithm: request.algorithm };
  },

  CreateAlias: (params, store) => {
    store.createAlias(
      requiredString(params, "AliasName", "aliasName"),
      requiredString(params, "TargetKeyId", "targetKeyId"),
    );
    return {};
  },

  EnableKey: (params, store) => {
    store.find(requiredString(params, "KeyId", "keyId")).enabled = true;
    return {};
  },

  DisableKey: (params, store) => {
    store.find(requiredString(params, "KeyId", "keyId")).enabled = false;
    return {};
  },
};

interface SigningRequest {
  readonly keyId: string;
  readonly message: Buffer;
  readonly messageType: MessageType;
  readonly algorithm: string;
}

function signingRequest(params: Params): SigningRequest {
  const keyId = requiredString(params, "KeyId", "keyId");
  const message = requiredBlob(params, "Message", "message");
  if (message.length === 0) {
    throw validationError("message", "", "Member must have length greater than or equal to 1");
  }
  if (message.length > MAX_MESSAGE_BYTES) {
    throw validationError(
      "message",
      "<binary>",
      `Member must have length less than or equal to ${MAX_MESSAGE_BYTES}`,
    );
  }
  const messageType = optionalEnum(params, "MessageType", "messageType", MESSAGE_TYPES) ?? "RAW";
  const algorithm = requiredString(params, "SigningAlgorithm", "signingAlgorithm");
  return { keyId, message, messageType, algorithm };
}

/** Asymmetric keys must say what they are for; a symmetric key can only encrypt. */
function usageFor(keySpec: KeySpec, keyUsage: KeyUsage | undefined): KeyUsage {
  if (keySpec === "SYMMETRIC_DEFAULT") {
    if (keyUsage !== undefined && keyUsage !== "ENCRYPT_DECRYPT") {
      throw new KmsApiError(
        "ValidationException",
        `The operation failed because the KeyUsage value of the CMK is ${keyUsage}. To perform this operation, the KeyUsage value must be ENCRYPT_DECRYPT.`,
      );
    }
    return "ENCRYPT_DECRYPT";
  }
  if (keyUsage === undefined) {
    throw new KmsApiError("ValidationException", "You must specify a KeyUsage value for an asymmetric CMK.");
  }
  if (keyUsage !== "SIGN_VERIFY") {
    throw new KmsApiError(
      "ValidationException",
      `KeyUsage ${keyUsage} is not compatible with KeySpec ${keySpec}`,
    );
  }
  return keyUsage;
}

function requirePolicyJson(policy: string): void {
  try {
    JSON.parse(policy);
  } catch {
    throw new KmsApiError(
      "MalformedPolicyDocumentException",
      "The new key policy will not allow you to update the key policy in the future.",
    );
  }
}

function requiredString(params: Params, member: string, wireName: string): string {
  const value = params[member];
  if (value === undefined || value === null) throw missingMember(wireName);
  if (typeof value !== "string")
    throw new KmsApiError("SerializationException", `${member} must be a string`);
  if (value.length === 0)
    throw validationError(wireName, "", "Member must have length greater than or equal to 1");
  return value;
}

function optionalString(params: Params, member: string, wireName: string): string | undefined {
  return params[member] === undefined || params[member] === null
    ? undefined
    : requiredString(params, member, wireName);
}

function optionalEnum<T extends string>(
  params: Params,
  member: string,
  wireName: string,
  allowed: readonly T[],
): T | undefined {
  const value = optionalString(params, member, wireName);
  if (value === undefined) return undefined;
  const match = allowed.find((candidate) => candidate === value);
  if (match === undefined) throw notInEnum(wireName, value, allowed);
  return match;
}

/** A KeySpec or KeyUsage: one the emulator makes, or UnsupportedOperationException (KMS has more,
 * which a test of this project never needs; the message says so rather than pretend they are invalid). */
function emulated<T extends string>(
  params: Params,
  member: string,
  wireName: string,
  supported: readonly T[],
): T | undefined {
  const value = optionalString(params, member, wireName);
  if (value === undefined) return undefined;
  const match = supported.find((candidate) => candidate === value);
  if (match === undefined) {
    throw new KmsApiError(
      "UnsupportedOperationException",
      `${member} ${value} is not emulated: the local KMS makes ${supported.join(" and ")} only.`,
    );
  }
  return match;
}

function requiredBlob(params: Params, member: string, wireName: string): Buffer {
  const value = params[member];
  if (value === undefined || value === null) throw missingMember(wireName);
  if (typeof value !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    throw new KmsApiError("SerializationException", `${member} must be base64-encoded`);
  }
  return Buffer.from(value, "base64");
}
