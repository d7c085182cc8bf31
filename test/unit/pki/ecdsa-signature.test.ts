import assert from "node:assert/strict";
import { generateKeyPairSync, sign, verify } from "node:crypto";
import { describe, test } from "node:test";
import {
  derToRawEcdsa,
  InvalidEcdsaSignatureError,
  rawToDerEcdsa,
} from "../../../lambdas/pki/ecdsa-signature";

const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const message = Buffer.from("the TBS part of a certificate");

describe("ECDSA signature encodings", () => {
  test("a DER signature turned into r‖s verifies as node's ieee-p1363 encoding", () => {
    for (let i = 0; i < 300; i++) {
      const der = sign("sha256", message, privateKey);
      const raw = derToRawEcdsa(der);
      assert.equal(raw.length, 64);
      assert.ok(
        verify("sha256", message, { key: publicKey, dsaEncoding: "ieee-p1363" }, raw),
        `signature ${i}`,
      );
    }
  });

  test("node's ieee-p1363 signature turned into DER verifies as DER", () => {
    for (let i = 0; i < 300; i++) {
      const raw = sign("sha256", message, { key: privateKey, dsaEncoding: "ieee-p1363" });
      const der = rawToDerEcdsa(raw);
      assert.ok(verify("sha256", message, publicKey, der), `signature ${i}`);
    }
  });

  test("DER → r‖s → DER gives back the same bytes", () => {
    for (let i = 0; i < 300; i++) {
      const der = sign("sha256", message, privateKey);
      assert.deepEqual(Buffer.from(rawToDerEcdsa(derToRawEcdsa(der))), der);
    }
  });

  test("short r and s are left-padded, and a high bit gets DER's leading zero", () => {
    const raw = new Uint8Array(64);
    raw[31] = 0x01; // r = 1
    raw[32] = 0x80; // s has its top bit set
    const der = rawToDerEcdsa(raw);
    assert.deepEqual([...der.subarray(0, 7)], [0x30, 3 + 35, 0x02, 0x01, 0x01, 0x02, 0x21]);
    assert.equal(der[7], 0x00);
    assert.deepEqual(derToRawEcdsa(der), raw);
  });

  const malformed: [string, number[]][] = [
    ["not a SEQUENCE", [0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]],
    ["truncated", [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01]],
    ["bytes after the signature", [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00]],
    ["a negative r", [0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01]],
    ["a third INTEGER", [0x30, 0x09, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]],
    [
      "an r longer than the curve",
      [0x30, 0x26, 0x02, 0x21, 0x01, ...new Array(32).fill(1), 0x02, 0x01, 0x01],
    ],
  ];
  for (const [what, bytes] of malformed) {
    test(`refuses a DER signature with ${what}`, () => {
      assert.throws(() => derToRawEcdsa(Uint8Array.from(bytes)), InvalidEcdsaSignatureError);
    });
  }
});
