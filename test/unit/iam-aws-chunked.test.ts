// Decoding S3's aws-chunked bodies as the gate proxy streams them: both framings the SDKs send
// (unsigned with a checksum trailer, chunk-signed), split anywhere, and S3's answers to a broken
// frame or a checksum that is not the bytes'.
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { describe, test } from "node:test";
import { crc32 } from "node:zlib";
import { AwsChunkedDecoder, AwsChunkedError } from "../../local/iam/aws-chunked";

function crcOf(data: Buffer): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc32(data) >>> 0);
  return bytes.toString("base64");
}

/** Feeds `encoded` in pieces of `size` bytes and collects what the decoder lets out. */
async function decode(
  encoded: string | Buffer,
  size = 7,
): Promise<{ data: Buffer; decoder: AwsChunkedDecoder }> {
  const bytes = Buffer.from(encoded);
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) pieces.push(bytes.subarray(at, at + size));
  const decoder = new AwsChunkedDecoder();
  const data = await buffer(Readable.from(pieces).pipe(decoder));
  return { data, decoder };
}

describe("aws-chunked decoding", () => {
  const object = Buffer.from("hello, world: a snapshot of etcd");
  const first = object.subarray(0, 10);
  const rest = object.subarray(10);

  test("an unsigned body with a CRC32 trailer, split anywhere, comes out as the object's bytes", async () => {
    const encoded = `${first.length.toString(16)}\r\n${first}\r\n${rest.length.toString(16)}\r\n${rest}\r\n0\r\nx-amz-checksum-crc32:${crcOf(object)}\r\n\r\n`;
    for (const size of [1, 3, 64]) {
      const { data, decoder } = await decode(encoded, size);
      assert.deepEqual(data, object);
      assert.equal(decoder.trailers.get("x-amz-checksum-crc32"), crcOf(object));
      assert.equal(decoder.length, object.length);
    }
  });

  test("a chunk-signed body is read past its signatures", async () => {
    const sig = "a".repeat(64);
    const encoded = `${object.length.toString(16)};chunk-signature=${sig}\r\n${object}\r\n0;chunk-signature=${sig}\r\n\r\n`;
    assert.deepEqual((await decode(encoded)).data, object);
  });

  test("a checksum that is not the bytes' is BadDigest; a truncated body IncompleteBody", async () => {
    const wrong = `${object.length.toString(16)}\r\n${object}\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n`;
    await assert.rejects(
      decode(wrong),
      (error: unknown) => error instanceof AwsChunkedError && error.code === "BadDigest",
    );
    const truncated = `${object.length.toString(16)}\r\n${object.subarray(0, 5)}`;
    await assert.rejects(
      decode(truncated),
      (error: unknown) => error instanceof AwsChunkedError && error.code === "IncompleteBody",
    );
    const overlong = `2\r\nabc\r\n0\r\n\r\n`;
    await assert.rejects(
      decode(overlong),
      (error: unknown) => error instanceof AwsChunkedError && error.code === "IncompleteBody",
    );
  });
});
