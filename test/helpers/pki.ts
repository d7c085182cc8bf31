// The PKI test bed: one local KMS per test file with the real SDK client pointed at it, CA keys
// made there, CAs made from them, and key pairs and certificates for test holders. Registers its
// start and stop with the enclosing suite's before/after hooks.
import { generateKeyPairSync } from "node:crypto";
import { after, before } from "node:test";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { KmsSigningKey } from "../../lambdas/adapters/kms";
import {
  type CaKind,
  type CertificatePolicy,
  type CertificateRequest,
  certificatePolicy,
  decideCaCertificate,
  decideCertificate,
} from "../../lambdas/domain/certificates";
import { createCaCertificatePem } from "../../lambdas/pki/ca-certificate";
import { CertificateAuthority } from "../../lambdas/pki/certificate-authority";
import { KmsEmulator, type KmsEmulatorOptions } from "../../local/kms/server";

export interface LocalKms {
  emulator(): KmsEmulator;
  /** An SDK client for the emulator; `maxAttempts` 1 so a fault reaches the caller at once. */
  client(): KMSClient;
  /** A new ECC_NIST_P256 signing key, created through the SDK. */
  newCaKey(): Promise<KmsSigningKey>;
}

export function useLocalKms(options: KmsEmulatorOptions = {}): LocalKms {
  let emulator: KmsEmulator | undefined;
  let client: KMSClient | undefined;
  before(async () => {
    emulator = new KmsEmulator(options);
    const endpoint = await emulator.start();
    client = new KMSClient({
      endpoint,
      region: emulator.region,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
      maxAttempts: 1,
    });
  });
  after(async () => {
    client?.destroy();
    await emulator?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the local KMS has not started");
    return value;
  };
  return {
    emulator: () => started(emulator),
    client: () => started(client),
    newCaKey: async () => {
      const created = await started(client).send(
        new CreateKeyCommand({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY", Description: "test CA" }),
      );
      return new KmsSigningKey(started(client), created.KeyMetadata?.Arn ?? "");
    },
  };
}

/** A CA with a fresh KMS key and a self-signed certificate (not published anywhere). */
export async function newCertificateAuthority(
  kms: LocalKms,
  kind: CaKind,
  clusterName = "test",
  now = Date.now(),
): Promise<CertificateAuthority> {
  const key = await kms.newCaKey();
  return CertificateAuthority.load(
    kind,
    await createCaCertificatePem(decideCaCertificate(clusterName, kind, now), key),
    key,
  );
}

export interface Credentials {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  readonly serialNumber: string;
}

/** A fresh P-256 key and the certificate the decision gives `request` at `now`, signed by `ca`. */
export async function issueTo(
  ca: CertificateAuthority,
  request: CertificateRequest,
  options: { now?: number; policy?: CertificatePolicy } = {},
): Promise<Credentials> {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const decision = decideCertificate(
    request,
    "ec",
    options.policy ?? certificatePolicy(request.kind),
    options.now ?? Date.now(),
  );
  const issued = await ca.issue(decision, publicKey.export({ format: "der", type: "spki" }));
  return {
    certificatePem: issued.pem,
    privateKeyPem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    serialNumber: issued.serialNumber,
  };
}
