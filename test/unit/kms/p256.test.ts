import assert from "node:assert/strict";
import { createHash, createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";
import { describe, test } from "node:test";
import { signDigest, toBigInt, verifyDigest } from "../../../local/kms/p256";

const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const jwk = privateKey.export({ format: "jwk" });
const field = (value: string | undefined) => toBigInt(Buffer.from(value ?? "", "base64url"));
const scalar = field(jwk.d);
const point = { x: field(jwk.x), y: field(jwk.y) };
const publicKey = createPublicKey(privateKey);

describe("the KMS emulator's P-256 signatures over a given digest", () => {
  test("node verifies them as ECDSA with SHA-256 of the message", () => {
    for (let i = 0; i < 20; i++) {
      const message = Buffer.from(`message ${i}`);
      const signature = signDigest(createHash("sha256").update(message).digest(), scalar);
      assert.ok(verify("sha256", message, publicKey, signature), `signature ${i}`);
    }
  });

  test("they accept node's signatures and refuse them for another digest", () => {
    const message = Buffer.from("tbs");
    const digest = createHash("sha256").update(message).digest();
    const signature = sign("sha256", message, privateKey);
    assert.equal(verifyDigest(digest, signature, point), true);
    assert.equal(verifyDigest(createHash("sha256").update("other").digest(), signature, point), false);
    assert.equal(verifyDigest(digest, Buffer.from("not DER"), point), false);
  });
});
