// A Lambda bundle's deployment package as CDK builds it: `lambda.Code.fromAsset(dir)` zips the
// folder's files (no folder entries) with yazl, deflated at zlib's default level, DOS timestamps
// only. The zip is what CDK uploads and what Lambda counts as the function's CodeSize. Written with
// Node's zlib so that measuring it needs no `zip` tool; the bytes differ from CDK's only in header
// fields of the same length (times, modes, flags).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { crc32, deflateRawSync } from "node:zlib";

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const VERSION = 20;
const DEFLATE = 8;
/** 1980-01-01, the earliest DOS date: CDK also fixes every entry's time, so the hash is stable. */
const DOS_DATE = (1 << 5) | 1;

/** Paths of the files below `dir`, relative to it with `/`, sorted. */
export function filesUnder(dir: string, prefix = ""): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory()
        ? filesUnder(join(dir, entry.name), `${prefix}${entry.name}/`)
        : [`${prefix}${entry.name}`],
    )
    .sort();
}

/** The zip of every file below `dir`, named by its path relative to `dir`. */
export function zipDirectory(dir: string): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const path of filesUnder(dir)) {
    const name = Buffer.from(path, "utf8");
    const data = readFileSync(join(dir, path));
    const compressed = deflateRawSync(data);
    const fields = { crc: crc32(data), compressed: compressed.length, size: data.length, name };
    const local = Buffer.concat([header(LOCAL_HEADER, fields), name, compressed]);
    centrals.push(Buffer.concat([header(CENTRAL_HEADER, fields, offset), name]));
    locals.push(local);
    offset += local.length;
  }
  const central = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(END_OF_CENTRAL_DIRECTORY, 0);
  end.writeUInt16LE(centrals.length, 8);
  end.writeUInt16LE(centrals.length, 10);
  end.writeUInt32LE(central.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, central, end]);
}

interface EntryFields {
  readonly crc: number;
  readonly compressed: number;
  readonly size: number;
  readonly name: Buffer;
}

/** A local file header, or with the local header's offset a central directory header. */
function header(signature: number, entry: EntryFields, localOffset?: number): Buffer {
  const central = localOffset !== undefined;
  const buffer = Buffer.alloc(central ? 46 : 30);
  buffer.writeUInt32LE(signature, 0);
  // A central header starts with "version made by"; the fields after it are the local header's.
  if (central) buffer.writeUInt16LE(VERSION, 4);
  const at = central ? 6 : 4;
  buffer.writeUInt16LE(VERSION, at); // version needed to extract; the flags after it stay 0
  buffer.writeUInt16LE(DEFLATE, at + 4); // then the time, 00:00
  buffer.writeUInt16LE(DOS_DATE, at + 8);
  buffer.writeUInt32LE(entry.crc, at + 10);
  buffer.writeUInt32LE(entry.compressed, at + 14);
  buffer.writeUInt32LE(entry.size, at + 18);
  buffer.writeUInt16LE(entry.name.length, at + 22);
  // The extra field, comment, disk number and attributes stay empty.
  if (central) buffer.writeUInt32LE(localOffset, 42);
  return buffer;
}
