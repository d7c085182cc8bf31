// The snapshot stream check on synthetic streams: a database of whole 512-byte pages followed by its
// SHA-256 passes however etcd's messages cut it (chunks shorter than the hash included), and any
// changed byte, a cut-off end or a misaligned database fails it without the stream ending.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, test } from "node:test";
import fc from "fast-check";
import { SnapshotStreamCheckError, SnapshotVerifier } from "../../../lambdas/adapters/snapshots/verify";

function stream(database: Buffer, hash = createHash("sha256").update(database).digest()): Buffer {
  return Buffer.concat([database, hash]);
}

/** Cuts `bytes` at `cuts` (sorted offsets) into etcd-like messages. */
function messages(bytes: Buffer, cuts: readonly number[]): { blob: Buffer }[] {
  const points = [0, ...cuts.filter((c) => c > 0 && c < bytes.length), bytes.length];
  return points.slice(1).map((end, i) => ({ blob: bytes.subarray(points[i], end) }));
}

async function check(chunks: { blob: Buffer }[]) {
  const verifier = new SnapshotVerifier();
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out.push(chunk);
      done();
    },
  });
  await pipeline(Readable.from(chunks, { objectMode: true }), verifier, sink);
  return { verified: verifier.verified, passed: Buffer.concat(out) };
}

describe("SnapshotVerifier", () => {
  test("passes a database and its hash through unchanged and reports both hashes", async () => {
    const database = Buffer.alloc(4096, 7);
    const bytes = stream(database);
    const { verified, passed } = await check(messages(bytes, [1000, 4090, 4100]));
    assert.deepEqual(passed, bytes);
    assert.deepEqual(verified, {
      size: 4096 + 32,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      databaseSha256: createHash("sha256").update(database).digest("hex"),
    });
  });

  test("refuses a database that is not whole 512-byte pages: etcd's restore would miss the hash", async () => {
    await assert.rejects(check(messages(stream(Buffer.alloc(1000, 1)), [])), /not a multiple of 512/);
  });

  test("refuses a stream shorter than a hash", async () => {
    await assert.rejects(check([{ blob: Buffer.alloc(20) }]), SnapshotStreamCheckError);
    await assert.rejects(check([]), /ended after 0 bytes/);
  });

  test("calls back once, on the first bytes", async () => {
    let calls = 0;
    const verifier = new SnapshotVerifier(() => calls++);
    const chunks = messages(stream(Buffer.alloc(1024)), [0, 100, 200]);
    await pipeline(
      Readable.from(chunks, { objectMode: true }),
      verifier,
      new Writable({ write: (_c, _e, d) => d() }),
    );
    assert.equal(calls, 1);
  });

  const caseArb = fc.record({
    pages: fc.integer({ min: 1, max: 8 }),
    seed: fc.integer({ min: 0, max: 255 }),
    cuts: fc.uniqueArray(fc.integer({ min: 1, max: 8 * 512 + 31 }), { maxLength: 40 }),
  });

  test("any cut of a valid stream passes", async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ pages, seed, cuts }) => {
        const database = Buffer.from(Array.from({ length: pages * 512 }, (_, i) => (i * 31 + seed) & 0xff));
        const bytes = stream(database);
        const { passed } = await check(
          messages(
            bytes,
            [...cuts].sort((a, b) => a - b),
          ),
        );
        assert.deepEqual(passed, bytes);
      }),
      { numRuns: 300 },
    );
  });

  test("any changed byte, anywhere, fails the stream instead of ending it", async () => {
    await fc.assert(
      fc.asyncProperty(
        caseArb,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async ({ pages, seed, cuts }, at, flip) => {
          const bytes = stream(
            Buffer.from(Array.from({ length: pages * 512 }, (_, i) => (i * 7 + seed) & 0xff)),
          );
          const index = at % bytes.length;
          bytes[index] = (bytes[index] ?? 0) ^ flip;
          await assert.rejects(
            check(
              messages(
                bytes,
                [...cuts].sort((a, b) => a - b),
              ),
            ),
            SnapshotStreamCheckError,
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
