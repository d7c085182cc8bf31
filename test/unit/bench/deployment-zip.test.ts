import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { crc32, inflateRawSync } from "node:zlib";
import { filesUnder, zipDirectory } from "../../../bench/lambda/deployment-zip";

/** Every entry of a zip as the central directory lists it, its data read from its local header. */
function unzip(zip: Buffer): Map<string, Buffer> {
  const end = zip.length - 22;
  assert.equal(zip.readUInt32LE(end), 0x06054b50, "end of central directory");
  const entries = new Map<string, Buffer>();
  let at = zip.readUInt32LE(end + 16);
  for (let i = 0; i < zip.readUInt16LE(end + 10); i++) {
    assert.equal(zip.readUInt32LE(at), 0x02014b50, "central directory header");
    const [crc, compressed, size, nameLength] = [
      zip.readUInt32LE(at + 16),
      zip.readUInt32LE(at + 20),
      zip.readUInt32LE(at + 24),
      zip.readUInt16LE(at + 28),
    ];
    const name = zip.toString("utf8", at + 46, at + 46 + nameLength);
    const local = zip.readUInt32LE(at + 42);
    assert.equal(zip.readUInt32LE(local), 0x04034b50, `local header of ${name}`);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = inflateRawSync(zip.subarray(start, start + compressed));
    assert.equal(data.length, size, `size of ${name}`);
    assert.equal(crc32(data), crc, `CRC of ${name}`);
    entries.set(name, data);
    at += 46 + nameLength;
  }
  return entries;
}

test("a bundle folder zips to its files under their relative paths, contents intact and compressed", () => {
  const dir = mkdtempSync(join(tmpdir(), "etcd-asg-zip-"));
  try {
    mkdirSync(join(dir, "lib"));
    mkdirSync(join(dir, "proto/nested"), { recursive: true });
    const bundle = "exports.handler = async () => 1;\n".repeat(1000);
    writeFileSync(join(dir, "lib/index.js"), bundle);
    writeFileSync(join(dir, "proto/nested/rpc.proto"), 'syntax = "proto3";\n');
    writeFileSync(join(dir, "proto/empty"), "");

    assert.deepEqual(filesUnder(dir), ["lib/index.js", "proto/empty", "proto/nested/rpc.proto"]);
    const zip = zipDirectory(dir);
    const entries = unzip(zip);
    assert.deepEqual([...entries.keys()], ["lib/index.js", "proto/empty", "proto/nested/rpc.proto"]);
    assert.equal(entries.get("lib/index.js")?.toString(), bundle);
    assert.equal(entries.get("proto/nested/rpc.proto")?.toString(), 'syntax = "proto3";\n');
    assert.equal(entries.get("proto/empty")?.length, 0);
    assert.ok(zip.length < bundle.length / 10, `${zip.length} bytes for a repetitive ${bundle.length}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
