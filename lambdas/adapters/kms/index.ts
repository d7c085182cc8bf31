// The KMS adapter: what the control plane imports.
export * from "./errors";
export { KmsSigningKey, SIGNING_ALGORITHM } from "./signing-key";
export { translateKmsError } from "./translate";
