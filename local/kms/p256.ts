// ECDSA over NIST P-256 on a digest the caller computed, for the emulator's `MessageType: DIGEST`.
// node:crypto always hashes what it signs (an EC key with a null algorithm means SHA-256), so a
// signature over a given digest needs the curve arithmetic itself: affine coordinates with BigInt,
// fine for an emulator (a few milliseconds a signature), not constant-time, never for production.
// Signatures are DER ECDSA-Sig-Value, as KMS returns them.
import { randomBytes } from "node:crypto";
import { derToRawEcdsa, rawToDerEcdsa } from "../../lambdas/pki/ecdsa-signature";

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const A = P - 3n;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const G: Point = {
  x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
};
const SCALAR_BYTES = 32;

interface Point {
  readonly x: bigint;
  readonly y: bigint;
}

/** Signs a 32-byte digest with the private scalar `d`. */
export function signDigest(digest: Uint8Array, d: bigint): Uint8Array {
  const z = toBigInt(digest);
  for (;;) {
    const k = randomScalar();
    const point = multiply(k, G);
    if (point === undefined) continue;
    const r = mod(point.x, N);
    if (r === 0n) continue;
    const s = mod(inverse(k, N) * (z + r * d), N);
    if (s === 0n) continue;
    return rawToDerEcdsa(Uint8Array.from([...toBytes(r), ...toBytes(s)]));
  }
}

/** Whether `der` is a valid signature of the 32-byte `digest` by the public point (x, y). */
export function verifyDigest(digest: Uint8Array, der: Uint8Array, publicKey: Point): boolean {
  let raw: Uint8Array;
  try {
    raw = derToRawEcdsa(der, SCALAR_BYTES);
  } catch {
    return false;
  }
  const r = toBigInt(raw.subarray(0, SCALAR_BYTES));
  const s = toBigInt(raw.subarray(SCALAR_BYTES));
  if (r <= 0n || r >= N || s <= 0n || s >= N) return false;
  const w = inverse(s, N);
  const point = add(multiply(mod(toBigInt(digest) * w, N), G), multiply(mod(r * w, N), publicKey));
  return point !== undefined && mod(point.x, N) === r;
}

/** A big-endian unsigned integer from bytes (base64url-decoded JWK fields, digests). */
export function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString("hex")}`);
}

function toBytes(value: bigint): Uint8Array {
  return Buffer.from(value.toString(16).padStart(2 * SCALAR_BYTES, "0"), "hex");
}

function randomScalar(): bigint {
  for (;;) {
    const k = toBigInt(randomBytes(SCALAR_BYTES));
    if (k > 0n && k < N) return k;
  }
}

function mod(value: bigint, modulus: bigint): bigint {
  const r = value % modulus;
  return r < 0n ? r + modulus : r;
}

/** Modular inverse by the extended Euclidean algorithm (`value` and `modulus` coprime). */
function inverse(value: bigint, modulus: bigint): bigint {
  let [oldR, r] = [mod(value, modulus), modulus];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return mod(oldS, modulus);
}

/** Point addition; undefined is the point at infinity. */
function add(p: Point | undefined, q: Point | undefined): Point | undefined {
  if (p === undefined) return q;
  if (q === undefined) return p;
  let lambda: bigint;
  if (p.x === q.x) {
    if (mod(p.y + q.y, P) === 0n) return undefined;
    lambda = mod((3n * p.x * p.x + A) * inverse(2n * p.y, P), P);
  } else {
    lambda = mod((q.y - p.y) * inverse(q.x - p.x, P), P);
  }
  const x = mod(lambda * lambda - p.x - q.x, P);
  return { x, y: mod(lambda * (p.x - x) - p.y, P) };
}

function multiply(k: bigint, point: Point): Point | undefined {
  let result: Point | undefined;
  let addend: Point | undefined = point;
  for (let rest = k; rest > 0n; rest >>= 1n) {
    if (rest & 1n) result = add(result, addend);
    addend = add(addend, addend);
  }
  return result;
}
