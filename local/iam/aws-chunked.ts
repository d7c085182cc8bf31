// Decodes an S3 `Content-Encoding: aws-chunked` body as it streams: `<hex size>[;chunk-signature=…]`
// CRLF, the chunk's bytes, CRLF, …, a zero-size chunk, then trailing headers (e.g.
// `x-amz-checksum-crc32:…`) and an empty line. The SDKs send a streamed upload this way
// (STREAMING-UNSIGNED-PAYLOAD-TRAILER); a server behind the gate gets the plain object bytes. Chunk
// signatures (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) are read past, not verified: the seed signature
// has authenticated the caller. A CRC32 trailer is checked against the bytes, as S3 does.
import { Transform, type TransformCallback } from "node:stream";
import { crc32 } from "node:zlib";

/** The body is not well-formed aws-chunked, or its checksum trailer is not its bytes'. */
export class AwsChunkedError extends Error {
  override readonly name = "AwsChunkedError";

  constructor(
    /** S3's code: IncompleteBody for broken framing, BadDigest for a checksum that does not match. */
    readonly code: "IncompleteBody" | "BadDigest",
    message: string,
  ) {
    super(message);
  }
}

type State = "size" | "data" | "data-end" | "trailer" | "done";

export class AwsChunkedDecoder extends Transform {
  /** Trailing headers, lowercased, once the body has ended. */
  readonly trailers = new Map<string, string>();
  private state: State = "size";
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private crc = 0;
  private decodedLength = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    try {
      this.consume();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.state !== "done") {
      callback(new AwsChunkedError("IncompleteBody", "The request body terminated unexpectedly"));
      return;
    }
    const declared = this.trailers.get("x-amz-checksum-crc32");
    if (declared !== undefined && declared !== crcBase64(this.crc)) {
      callback(
        new AwsChunkedError("BadDigest", "The CRC32 you specified did not match the calculated checksum."),
      );
      return;
    }
    callback();
  }

  /** How many object bytes came out. */
  get length(): number {
    return this.decodedLength;
  }

  private consume(): void {
    for (;;) {
      if (this.state === "data") {
        if (this.pending.length === 0) return;
        const take = Math.min(this.remaining, this.pending.length);
        const data = this.pending.subarray(0, take);
        this.crc = crc32(data, this.crc);
        this.decodedLength += take;
        this.push(data);
        this.pending = this.pending.subarray(take);
        this.remaining -= take;
        if (this.remaining === 0) this.state = "data-end";
        continue;
      }
      if (this.state === "done") {
        if (this.pending.length > 0)
          throw new AwsChunkedError("IncompleteBody", "Bytes after the end of an aws-chunked body");
        return;
      }
      const end = this.pending.indexOf("\r\n");
      if (end < 0) {
        if (this.pending.length > 8192)
          throw new AwsChunkedError("IncompleteBody", "An aws-chunked line is too long");
        return;
      }
      const line = this.pending.subarray(0, end).toString("latin1");
      this.pending = this.pending.subarray(end + 2);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (this.state === "data-end") {
      if (line !== "")
        throw new AwsChunkedError("IncompleteBody", "A chunk is longer than its declared size");
      this.state = "size";
      return;
    }
    if (this.state === "trailer") {
      if (line === "") {
        this.state = "done";
        return;
      }
      const colon = line.indexOf(":");
      if (colon < 1) throw new AwsChunkedError("IncompleteBody", `Malformed trailing header '${line}'`);
      this.trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      return;
    }
    const size = /^([0-9a-fA-F]+)(;.*)?$/.exec(line);
    if (!size) throw new AwsChunkedError("IncompleteBody", `Malformed chunk size line '${line}'`);
    this.remaining = Number.parseInt(size[1] ?? "", 16);
    this.state = this.remaining === 0 ? "trailer" : "data";
  }
}

/** A CRC32 as S3 writes it in x-amz-checksum-crc32: the big-endian 4 bytes in base64. */
function crcBase64(value: number): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value >>> 0);
  return bytes.toString("base64");
}
