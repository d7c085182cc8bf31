// The emulated KMS keys of one account and region: their metadata, aliases, and the signing
// operations. A signing key's private half is made with node:crypto and stays in a private field of
// its key: nothing in the emulator's API (HTTP or in-process) returns it. node:crypto hashes all it
// signs, so a signature over a caller's digest (`MessageType: DIGEST`) is made with @noble/curves'
// P-256, which signs a given digest.
import { createPublicKey, generateKeyPairSync, type KeyObject, randomUUID, sign, verify } from "node:crypto";
import { p256 } from "@noble/curves/nist.js";
import { KmsApiError } from "./api-error";

/** The key specs this emulator makes. Symmetric keys exist (a template may declare one) but serve no
 * cryptographic operation here. */
export const KEY_SPECS = ["ECC_NIST_P256", "SYMMETRIC_DEFAULT"] as const;
export type KeySpec = (typeof KEY_SPECS)[number];
export const KEY_USAGES = ["SIGN_VERIFY", "ENCRYPT_DECRYPT"] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];
export const MESSAGE_TYPES = ["RAW", "DIGEST"] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

const ECDSA_SHA_256 = "ECDSA_SHA_256";
const SHA_256_BYTES = 32;

export interface CreateKeyInput {
  readonly keySpec: KeySpec;
  readonly keyUsage: KeyUsage;
  readonly description?: string;
  /** The key policy (JSON text); KMS's default policy when absent. */
  readonly policy?: string;
  /** In-process only (the simulator's keys, whose IDs the template's names fix): the key's ID. */
  readonly keyId?: string;
}

/** DescribeKey's KeyMetadata, as KMS returns it. */
export interface KeyMetadata {
  readonly AWSAccountId: string;
  readonly KeyId: string;
  readonly Arn: string;
  /** Epoch seconds. */
  readonly CreationDate: number;
  readonly Enabled: boolean;
  readonly Description: string;
  readonly KeyUsage: KeyUsage;
  readonly KeyState: "Enabled" | "Disabled";
  readonly Origin: "AWS_KMS";
  readonly KeyManager: "CUSTOMER";
  readonly CustomerMasterKeySpec: KeySpec;
  readonly KeySpec: KeySpec;
  readonly MultiRegion: false;
  readonly SigningAlgorithms?: readonly string[];
  readonly EncryptionAlgorithms?: readonly string[];
}

interface SigningMaterial {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The private scalar (32 bytes), for signatures over a caller's digest. */
  readonly scalar: Uint8Array;
  /** The public point, uncompressed SEC1 (0x04 ‖ x ‖ y). */
  readonly publicPoint: Uint8Array;
  /** DER SubjectPublicKeyInfo, as GetPublicKey returns it. */
  readonly publicKeyDer: Buffer;
}

export class EmulatedKey {
  readonly #signing: SigningMaterial | undefined;
  enabled = true;

  constructor(
    readonly keyId: string,
    readonly arn: string,
    readonly account: string,
    readonly input: CreateKeyInput & { readonly policy: string },
    readonly creationDate: number,
  ) {
    this.#signing = input.keyUsage === "SIGN_VERIFY" ? newSigningMaterial() : undefined;
  }

  get policy(): string {
    return this.input.policy;
  }

  get signingAlgorithms(): readonly string[] {
    return this.#signing === undefined ? [] : [ECDSA_SHA_256];
  }

  metadata(): KeyMetadata {
    const { keySpec, keyUsage, description } = this.input;
    return {
      AWSAccountId: this.account,
      KeyId: this.keyId,
      Arn: this.arn,
      CreationDate: this.creationDate,
      Enabled: this.enabled,
      Description: description ?? "",
      KeyUsage: keyUsage,
      KeyState: this.enabled ? "Enabled" : "Disabled",
      Origin: "AWS_KMS",
      KeyManager: "CUSTOMER",
      CustomerMasterKeySpec: keySpec,
      KeySpec: keySpec,
      MultiRegion: false,
      ...(keyUsage === "SIGN_VERIFY"
        ? { SigningAlgorithms: this.signingAlgorithms }
        : { EncryptionAlgorithms: ["SYMMETRIC_DEFAULT"] }),
    };
  }

  /** DER SubjectPublicKeyInfo. */
  publicKey(): Buffer {
    if (this.#signing === undefined) {
      throw new KmsApiError(
        "UnsupportedOperationException",
        `${this.arn} key usage is ENCRYPT_DECRYPT, and GetPublicKey is not supported on symmetric keys.`,
      );
    }
    return this.#signing.publicKeyDer;
  }

  /** A DER ECDSA signature of `message` (hashed here when RAW). */
  sign(message: Uint8Array, messageType: MessageType, algorithm: string): Buffer {
    const signing = this.signingMaterial("signing", algorithm);
    if (messageType === "RAW") return sign("sha256", message, signing.privateKey);
    // KMS's signatures are randomized and not normalized to a low S: hedged k, any S.
    return Buffer.from(
      p256.sign(requireDigest(message, algorithm), signing.scalar, {
        prehash: false,
        lowS: false,
        extraEntropy: true,
        format: "der",
      }),
    );
  }

  verify(message: Uint8Array, messageType: MessageType, signature: Uint8Array, algorithm: string): boolean {
    const signing = this.signingMaterial("verification", algorithm);
    if (messageType === "RAW") {
      try {
        return verify("sha256", message, signing.publicKey, signature);
      } catch {
        return false;
      }
    }
    try {
      return p256.verify(signature, requireDigest(message, algorithm), signing.publicPoint, {
        prehash: false,
        lowS: false,
        format: "der",
      });
    } catch {
      return false;
    }
  }

  private signingMaterial(what: string, algorithm: string): SigningMaterial {
    if (this.#signing === undefined) {
      throw new KmsApiError(
        "InvalidKeyUsageException",
        `${this.arn} key usage is ${this.input.keyUsage} which is not valid for ${what}.`,
      );
    }
    if (algorithm !== ECDSA_SHA_256) {
      throw new KmsApiError(
        "InvalidKeyUsageException",
        `Algorithm ${algorithm} is incompatible with key spec ${this.input.keySpec}.`,
      );
    }
    return this.#signing;
  }
}

function newSigningMaterial(): SigningMaterial {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  // The JWK is read here, once, for the scalar and the point; it is not kept.
  const jwk = privateKey.export({ format: "jwk" });
  const field = (value: string | undefined) => Buffer.from(value ?? "", "base64url");
  const publicKey = createPublicKey(privateKey);
  return {
    privateKey,
    publicKey,
    scalar: field(jwk.d),
    publicPoint: Buffer.concat([Buffer.from([4]), field(jwk.x), field(jwk.y)]),
    publicKeyDer: publicKey.export({ format: "der", type: "spki" }),
  };
}

function requireDigest(message: Uint8Array, algorithm: string): Uint8Array {
  if (message.length !== SHA_256_BYTES) {
    throw new KmsApiError("ValidationException", `Digest is invalid length for algorithm ${algorithm}.`);
  }
  return message;
}

const KEY_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]+$/;

/** The keys and aliases of one account in one region. */
export class KeyStore {
  private readonly keys = new Map<string, EmulatedKey>();
  /** Alias name (`alias/…`) → key ID. */
  private readonly aliases = new Map<string, string>();

  constructor(
    readonly region: string,
    readonly account: string,
    private readonly now: () => number,
  ) {}

  create(input: CreateKeyInput): EmulatedKey {
    const keyId = input.keyId ?? randomUUID();
    if (this.keys.has(keyId)) throw new KmsApiError("AlreadyExistsException", `Key ${keyId} already exists`);
    const key = new EmulatedKey(
      keyId,
      `${this.arnPrefix()}key/${keyId}`,
      this.account,
      { ...input, policy: input.policy ?? this.defaultPolicy() },
      this.now() / 1000,
    );
    this.keys.set(keyId, key);
    return key;
  }

  all(): EmulatedKey[] {
    return [...this.keys.values()];
  }

  /** The key a KeyId names (key ID, key ARN, alias name or alias ARN), enabled or not. */
  find(keyId: string): EmulatedKey {
    const alias = this.aliasName(keyId);
    if (alias !== undefined) {
      const target = this.aliases.get(alias);
      if (target === undefined)
        throw new KmsApiError("NotFoundException", `Alias ${this.arnPrefix()}${alias} is not found.`);
      return this.keyById(target);
    }
    const id = keyId.startsWith(`${this.arnPrefix()}key/`)
      ? keyId.slice(`${this.arnPrefix()}key/`.length)
      : keyId;
    if (!KEY_UUID.test(id)) {
      if (keyId.startsWith("arn:"))
        throw new KmsApiError("NotFoundException", `Key '${keyId}' does not exist`);
      throw new KmsApiError("NotFoundException", `Invalid keyId ${keyId}`);
    }
    return this.keyById(id.toLowerCase());
  }

  /** Like `find`, for cryptographic operations: a disabled key refuses them. */
  usable(keyId: string): EmulatedKey {
    const key = this.find(keyId);
    if (!key.enabled) throw new KmsApiError("DisabledException", `${key.arn} is disabled.`);
    return key;
  }

  createAlias(aliasName: string, targetKeyId: string): void {
    if (!ALIAS_NAME.test(aliasName)) {
      throw new KmsApiError(
        "ValidationException",
        `1 validation error detected: Value '${aliasName}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^alias/[a-zA-Z0-9/_-]+$`,
      );
    }
    if (aliasName.startsWith("alias/aws/")) {
      throw new KmsApiError("NotAuthorizedException", "");
    }
    if (this.aliases.has(aliasName)) {
      throw new KmsApiError(
        "AlreadyExistsException",
        `An alias with the name ${this.arnPrefix()}${aliasName} already exists`,
      );
    }
    const key = this.find(targetKeyId);
    this.aliases.set(aliasName, key.keyId);
  }

  private keyById(id: string): EmulatedKey {
    const key = this.keys.get(id);
    if (key === undefined) {
      throw new KmsApiError("NotFoundException", `Key '${this.arnPrefix()}key/${id}' does not exist`);
    }
    return key;
  }

  private aliasName(keyId: string): string | undefined {
    if (keyId.startsWith("alias/")) return keyId;
    const prefix = this.arnPrefix();
    if (keyId.startsWith(`${prefix}alias/`)) return keyId.slice(prefix.length);
    return undefined;
  }

  private arnPrefix(): string {
    return `arn:aws:kms:${this.region}:${this.account}:`;
  }

  /** KMS's default key policy: the account's IAM policies decide. */
  private defaultPolicy(): string {
    return JSON.stringify({
      Version: "2012-10-17",
      Id: "key-default-1",
      Statement: [
        {
          Sid: "Enable IAM User Permissions",
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${this.account}:root` },
          Action: "kms:*",
          Resource: "*",
        },
      ],
    });
  }
}
