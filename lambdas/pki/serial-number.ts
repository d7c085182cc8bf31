// Certificate serial numbers: 128 random bits, positive (RFC 5280 allows up to 20 octets, and
// asks for unpredictable ones so that nobody can prepare a colliding certificate).
import { randomBytes } from "node:crypto";

/** Hexadecimal, as @peculiar/x509 takes it (it adds the 0x00 that keeps a high first bit positive). */
export function randomSerialNumber(): string {
  for (;;) {
    const bytes = randomBytes(16);
    if (bytes.some((byte) => byte !== 0)) return bytes.toString("hex");
  }
}
