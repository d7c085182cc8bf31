// A large etcd store and its snapshot object, for the tests that measure a snapshot of over 256 MiB:
// fill a cluster with 1 MiB values, and fetch an object to disk as a restoring node would (streamed,
// hashed on the way).
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { Etcd3 } from "etcd3";

export const MIB = 1024 * 1024;

/** The key of the `index`th value `fillMiB` writes. */
export function bigKey(index: number): string {
  return `big/${String(index).padStart(4, "0")}`;
}

/** Writes `count` random 1 MiB values (under etcd's 1.5 MiB request limit), four puts in flight:
 * each waits for its WAL fsync, so one at a time leaves the disk idle. */
export async function fillMiB(client: Etcd3, count: number): Promise<void> {
  const value = randomBytes(MIB);
  for (let i = 0; i < count; i += 4) {
    await Promise.all(
      [0, 1, 2, 3].filter((j) => i + j < count).map((j) => client.put(bigKey(i + j)).value(value)),
    );
  }
}

/** Streams the object to `file`; resolves to its SHA-256, lower-case hex. */
export async function downloadHashed(
  s3: S3Client,
  bucket: string,
  key: string,
  file: string,
): Promise<string> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash("sha256");
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(got.Body as NodeJS.ReadableStream, hashing, createWriteStream(file));
  return hash.digest("hex");
}
