// A KMS asymmetric key used as a certificate authority's private key: sign a SHA-256 digest with it
// and read its public key. The private key never leaves KMS. The SDK client is built once per
// container by the caller (module scope), with its endpoint from AWS_ENDPOINT_URL_KMS.
import { GetPublicKeyCommand, type KMSClient, SignCommand } from "@aws-sdk/client-kms";
import { KmsUnsuitableKeyError } from "./errors";
import { translateKmsError } from "./translate";

export const SIGNING_ALGORITHM = "ECDSA_SHA_256";
const SHA_256_BYTES = 32;

export class KmsSigningKey {
  /** A KMS key's public key never changes, so one fetch per container is enough. */
  private publicKeyDer: Promise<Uint8Array> | undefined;

  constructor(
    private readonly client: KMSClient,
    /** Key ID, key ARN, alias name or alias ARN. */
    readonly keyId: string,
  ) {}

  /** The DER ECDSA signature (as KMS returns it) of a SHA-256 digest computed by the caller. Signing
   * a digest keeps the request small and independent of what is signed (KMS takes at most 4096
   * bytes of message). */
  async signDigest(digest: Uint8Array): Promise<Uint8Array> {
    if (digest.length !== SHA_256_BYTES) {
      throw new RangeError(`a SHA-256 digest has ${SHA_256_BYTES} bytes, got ${digest.length}`);
    }
    const answer = await this.client
      .send(
        new SignCommand({
          KeyId: this.keyId,
          Message: digest,
          MessageType: "DIGEST",
          SigningAlgorithm: SIGNING_ALGORITHM,
        }),
      )
      .catch((error: unknown) => {
        throw translateKmsError(error, "Sign", this.keyId);
      });
    if (answer.Signature === undefined) {
      throw translateKmsError(new Error("the answer has no Signature"), "Sign", this.keyId);
    }
    return answer.Signature;
  }

  /** DER SubjectPublicKeyInfo of the key, checked to be an ECC_NIST_P256 signing key. */
  publicKey(): Promise<Uint8Array> {
    this.publicKeyDer ??= this.fetchPublicKey().catch((error: unknown) => {
      // A failed fetch is not remembered: the next call asks again.
      this.publicKeyDer = undefined;
      throw error;
    });
    return this.publicKeyDer;
  }

  private async fetchPublicKey(): Promise<Uint8Array> {
    const answer = await this.client
      .send(new GetPublicKeyCommand({ KeyId: this.keyId }))
      .catch((error: unknown) => {
        throw translateKmsError(error, "GetPublicKey", this.keyId);
      });
    if (answer.KeySpec !== "ECC_NIST_P256" || answer.KeyUsage !== "SIGN_VERIFY") {
      throw new KmsUnsuitableKeyError(this.keyId, `${answer.KeySpec} with KeyUsage ${answer.KeyUsage}`);
    }
    if (answer.PublicKey === undefined) {
      throw translateKmsError(new Error("the answer has no PublicKey"), "GetPublicKey", this.keyId);
    }
    return answer.PublicKey;
  }
}
