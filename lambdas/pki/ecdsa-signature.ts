// ECDSA signatures in their two encodings. KMS `Sign` returns the DER ECDSA-Sig-Value
// (SEQUENCE { r INTEGER, s INTEGER }), as X.509 and TLS carry them; WebCrypto, whose `sign` the
// certificate library calls, returns the fixed-size r‖s (IEEE P1363). This is the one place that
// converts between them.

export class InvalidEcdsaSignatureError extends Error {
  override readonly name = "InvalidEcdsaSignatureError";
}

/** Bytes of r and of s for P-256. */
export const P256_SCALAR_BYTES = 32;

/** The r‖s form of a DER ECDSA-Sig-Value, each half left-padded to `scalarBytes`. */
export function derToRawEcdsa(der: Uint8Array, scalarBytes: number = P256_SCALAR_BYTES): Uint8Array {
  const reader = new DerReader(der);
  const sequence = reader.element(0x30, "signature");
  if (!reader.atEnd()) throw new InvalidEcdsaSignatureError("bytes after the DER signature");
  const inner = new DerReader(sequence);
  const r = inner.element(0x02, "r");
  const s = inner.element(0x02, "s");
  if (!inner.atEnd()) throw new InvalidEcdsaSignatureError("more than r and s in the DER signature");
  const raw = new Uint8Array(2 * scalarBytes);
  raw.set(fixedSize(r, scalarBytes, "r"), 0);
  raw.set(fixedSize(s, scalarBytes, "s"), scalarBytes);
  return raw;
}

/** The DER ECDSA-Sig-Value of an r‖s signature (two halves of equal size). */
export function rawToDerEcdsa(raw: Uint8Array): Uint8Array {
  if (raw.length === 0 || raw.length % 2 !== 0) {
    throw new InvalidEcdsaSignatureError(`an r‖s signature has an even, non-zero length; got ${raw.length}`);
  }
  const half = raw.length / 2;
  const body = [...derInteger(raw.subarray(0, half)), ...derInteger(raw.subarray(half))];
  return Uint8Array.from([0x30, ...derLength(body.length), ...body]);
}

/** A DER INTEGER holding the unsigned big-endian `value`: minimal, with a 0x00 when the top bit is set. */
function derInteger(value: Uint8Array): number[] {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start++;
  const digits = [...value.subarray(start)];
  if ((digits[0] ?? 0) & 0x80) digits.unshift(0);
  return [0x02, ...derLength(digits.length), ...digits];
}

function derLength(length: number): number[] {
  if (length < 0x80) return [length];
  if (length <= 0xff) return [0x81, length];
  return [0x82, length >> 8, length & 0xff];
}

/** A DER INTEGER's content (two's complement, positive) as an unsigned value of exactly `size` bytes. */
function fixedSize(integer: Uint8Array, size: number, what: string): Uint8Array {
  if (integer.length === 0) throw new InvalidEcdsaSignatureError(`${what} is empty`);
  if ((integer[0] ?? 0) & 0x80) throw new InvalidEcdsaSignatureError(`${what} is negative`);
  let start = 0;
  while (start < integer.length - 1 && integer[start] === 0) start++;
  const digits = integer.subarray(start);
  if (digits.length > size) {
    throw new InvalidEcdsaSignatureError(`${what} has ${digits.length} bytes, more than ${size}`);
  }
  const padded = new Uint8Array(size);
  padded.set(digits, size - digits.length);
  return padded;
}

/** Reads DER tag-length-value elements (definite lengths up to 0xffff, enough for a signature). */
class DerReader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  atEnd(): boolean {
    return this.offset === this.bytes.length;
  }

  element(tag: number, what: string): Uint8Array {
    if (this.read(what) !== tag) {
      throw new InvalidEcdsaSignatureError(`${what} is not a DER element with tag 0x${tag.toString(16)}`);
    }
    let length = this.read(what);
    if (length === 0x81) length = this.read(what);
    else if (length === 0x82) length = (this.read(what) << 8) | this.read(what);
    else if (length >= 0x80) throw new InvalidEcdsaSignatureError(`${what} has an unsupported length form`);
    const end = this.offset + length;
    if (end > this.bytes.length) throw new InvalidEcdsaSignatureError(`${what} is truncated`);
    const content = this.bytes.subarray(this.offset, end);
    this.offset = end;
    return content;
  }

  private read(what: string): number {
    const value = this.bytes[this.offset];
    if (value === undefined) throw new InvalidEcdsaSignatureError(`${what} is truncated`);
    this.offset++;
    return value;
  }
}
