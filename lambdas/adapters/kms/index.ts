// The KMS adapter: what the control plane imports.
// The client comes from here too, so that the lazily loaded file holds only the commands used.
export { KMSClient } from "@aws-sdk/client-kms";
export * from "./errors";
export { KmsSigningKey, SIGNING_ALGORITHM } from "./signing-key";
export { translateKmsError } from "./translate";
