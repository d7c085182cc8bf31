import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { describe, test } from "node:test";
import { verifyCsr } from "../../../lambdas/pki/csr";
import { CsrRejectedError } from "../../../lambdas/pki/errors";
import {
  Pkcs10CertificateRequest,
  Pkcs10CertificateRequestGenerator,
  SubjectAlternativeNameExtension,
} from "../../../lambdas/pki/x509";

type KeyParams = webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams | { name: "Ed25519" };

async function csrPem(params: KeyParams, signing: webcrypto.AlgorithmIdentifier | webcrypto.EcdsaParams) {
  const keys = (await webcrypto.subtle.generateKey(params, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const csr = await Pkcs10CertificateRequestGenerator.create({
    name: "CN=i-0123456789abcdef0",
    keys,
    signingAlgorithm: signing,
    extensions: [new SubjectAlternativeNameExtension([{ type: "ip", value: "10.9.9.9" }])],
  });
  return csr.toString("pem");
}

const P256 = { name: "ECDSA", namedCurve: "P-256" };
const ECDSA_SHA256 = { name: "ECDSA", hash: "SHA-256" };
const rsa = (modulusLength: number) => ({
  name: "RSASSA-PKCS1-v1_5",
  modulusLength,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: "SHA-256",
});

function rejected(pattern: RegExp) {
  return (error: unknown) => error instanceof CsrRejectedError && pattern.test(error.message);
}

describe("CSR verification", () => {
  test("accepts an EC P-256 CSR and returns its public key", async () => {
    const pem = await csrPem(P256, ECDSA_SHA256);
    const verified = await verifyCsr(pem);
    assert.equal(verified.family, "ec");
    assert.deepEqual(
      Buffer.from(verified.publicKey),
      Buffer.from(new Pkcs10CertificateRequest(pem).publicKey.rawData),
    );
  });

  test("accepts an RSA 2048 CSR", async () => {
    assert.equal((await verifyCsr(await csrPem(rsa(2048), "RSASSA-PKCS1-v1_5"))).family, "rsa");
  });

  test("refuses RSA under 2048 bits, naming the size", async () => {
    await assert.rejects(
      verifyCsr(await csrPem(rsa(1024), "RSASSA-PKCS1-v1_5")),
      rejected(/RSA of 1024 bits/),
    );
  });

  test("refuses an EC key on another curve, naming it", async () => {
    const pem = await csrPem({ name: "ECDSA", namedCurve: "P-384" }, { name: "ECDSA", hash: "SHA-384" });
    await assert.rejects(verifyCsr(pem), rejected(/EC on curve secp384r1; use P-256/));
  });

  test("refuses an Ed25519 key", async () => {
    await assert.rejects(
      verifyCsr(await csrPem({ name: "Ed25519" }, "Ed25519")),
      rejected(/its key is ed25519/),
    );
  });

  test("refuses a CSR whose content was altered after signing", async () => {
    const pem = await csrPem(P256, ECDSA_SHA256);
    const der = Buffer.from(new Pkcs10CertificateRequest(pem).rawData);
    // The subject's last character sits inside the signed part: change it.
    const at = der.indexOf(Buffer.from("abcdef0"));
    der[at] = "b".charCodeAt(0);
    const altered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
    await assert.rejects(verifyCsr(altered), rejected(/self-signature does not verify/));
  });

  test("refuses text that is not a CSR, saying how to make one", async () => {
    await assert.rejects(verifyCsr("hello"), rejected(/openssl req -new/));
    await assert.rejects(
      verifyCsr("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"),
      rejected(/not a PKCS#10 certificate request/),
    );
  });

  test("refuses a PEM larger than any CSR", async () => {
    await assert.rejects(verifyCsr("A".repeat(20_000)), rejected(/at most 16384 characters/));
  });
});
