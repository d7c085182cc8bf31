import assert from "node:assert/strict";
import { createHash, createPublicKey, verify } from "node:crypto";
import { describe, test } from "node:test";
import { KeyStore } from "../../../local/kms/keys";

const store = new KeyStore("us-east-1", "123456789012", Date.now);
const key = store.create({ keySpec: "ECC_NIST_P256", keyUsage: "SIGN_VERIFY" });
const other = store.create({ keySpec: "ECC_NIST_P256", keyUsage: "SIGN_VERIFY" });
const publicKey = createPublicKey({ key: key.publicKey(), format: "der", type: "spki" });
const sha256 = (text: string) => createHash("sha256").update(text).digest();

describe("the KMS emulator's P-256 signatures over a given digest (MessageType DIGEST)", () => {
  test("node verifies them as ECDSA with SHA-256 of the message; each is randomized, as KMS's are", () => {
    const signatures = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const signature = key.sign(sha256("message"), "DIGEST", "ECDSA_SHA_256");
      assert.equal(signature[0], 0x30, "a DER SEQUENCE");
      assert.ok(verify("sha256", Buffer.from("message"), publicKey, signature), `signature ${i}`);
      signatures.add(signature.toString("hex"));
    }
    assert.equal(signatures.size, 20);
  });

  test("a digest's verification accepts the key's RAW signatures and refuses another digest, another key's or no DER", () => {
    const signature = key.sign(Buffer.from("tbs"), "RAW", "ECDSA_SHA_256");
    assert.equal(key.verify(sha256("tbs"), "DIGEST", signature, "ECDSA_SHA_256"), true);
    assert.equal(key.verify(sha256("other"), "DIGEST", signature, "ECDSA_SHA_256"), false);
    assert.equal(other.verify(sha256("tbs"), "DIGEST", signature, "ECDSA_SHA_256"), false);
    assert.equal(key.verify(sha256("tbs"), "DIGEST", Buffer.from("not DER"), "ECDSA_SHA_256"), false);
  });
});
