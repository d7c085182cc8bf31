// The control plane's certificate authority: what handlers import.
export { type CaKey, createCaCertificatePem } from "./ca-certificate";
export { CertificateAuthority, type IssuedCertificate } from "./certificate-authority";
export {
  type ClientIdentity,
  mintControlPlaneIdentity,
  RenewingClientIdentity,
  type RenewingIdentityOptions,
} from "./client-identity";
export { type VerifiedCsr, verifyCsr } from "./csr";
export { derToRawEcdsa, rawToDerEcdsa } from "./ecdsa-signature";
export {
  type CaCertificateStore,
  type EnsureCaOptions,
  type EnsuredCa,
  ensureCertificateAuthority,
} from "./ensure-ca";
export * from "./errors";
