// S3 errors become typed, tagged errors in one place, including those no local server produces on
// demand (throttling, 5xx, a reset connection); and the key layout round-trips and sorts by revision.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  AwsRequestError,
  AwsThrottledError,
  AwsUnavailableError,
} from "../../../lambdas/adapters/aws/errors";
import {
  InvalidSnapshotInputError,
  parseSnapshotKey,
  SnapshotAccessDeniedError,
  SnapshotBucketNotFoundError,
  SnapshotNotFoundError,
  snapshotKey,
  translateS3Error,
  uploadTuning,
} from "../../../lambdas/adapters/snapshots";

function sdkError(name: string, status?: number, extra: Record<string, unknown> = {}) {
  return Object.assign(new Error(`${name} happened`), {
    name,
    ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }),
    ...extra,
  });
}

describe("translateS3Error", () => {
  const cases: [string, unknown, new (...args: never[]) => Error, boolean][] = [
    ["SlowDown (S3's throttling)", sdkError("SlowDown", 503), AwsThrottledError, true],
    ["InternalError", sdkError("InternalError", 500), AwsUnavailableError, true],
    ["ServiceUnavailable", sdkError("ServiceUnavailable", 503), AwsUnavailableError, true],
    ["an unnamed 502", sdkError("Unknown", 502), AwsUnavailableError, true],
    ["RequestTimeout (the body came too slowly)", sdkError("RequestTimeout", 400), AwsUnavailableError, true],
    ["a reset connection", sdkError("Error", undefined, { code: "ECONNRESET" }), AwsUnavailableError, true],
    ["AccessDenied", sdkError("AccessDenied", 403), SnapshotAccessDeniedError, false],
    ["a refused HEAD (no body, no code)", sdkError("Forbidden", 403), SnapshotAccessDeniedError, false],
    ["NoSuchBucket", sdkError("NoSuchBucket", 404), SnapshotBucketNotFoundError, false],
    ["NoSuchKey", sdkError("NoSuchKey", 404), SnapshotNotFoundError, false],
    ["EntityTooSmall", sdkError("EntityTooSmall", 400), AwsRequestError, false],
  ];
  for (const [what, error, type, retryable] of cases) {
    test(`${what} is ${type.name}${retryable ? ", retryable" : ""}`, () => {
      const translated = translateS3Error(error, "UploadPart", "bucket", "c/t/1.db");
      assert.ok(translated instanceof type, `${translated.name}: ${translated.message}`);
      assert.equal(translated.retryable, retryable);
      assert.match(translated.message, /UploadPart on s3:\/\/bucket\/c\/t\/1\.db/);
      assert.equal(translated.cause, error);
    });
  }

  test("a 404 on a HEAD is the key's absence", () => {
    const translated = translateS3Error(sdkError("NotFound", 404), "HeadObject", "bucket", "k");
    assert.ok(translated instanceof SnapshotNotFoundError);
    assert.equal(translated.key, "k");
  });
});

describe("snapshot keys", () => {
  test("cluster name, token, 20-digit revision and UTC time", () => {
    const key = snapshotKey({
      clusterName: "prod",
      token: "prod-1234",
      revision: 42,
      takenAt: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
    });
    assert.equal(key, "prod/prod-1234/00000000000000000042-20260102T030405.006Z.db");
  });

  test("round-trips and sorts like (revision, time) within a generation", () => {
    const parts = fc.record({
      revision: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      takenAt: fc.integer({ min: 0, max: Date.UTC(9999, 0) }),
    });
    fc.assert(
      fc.property(parts, parts, (a, b) => {
        const ka = snapshotKey({ clusterName: "c", token: "t", ...a });
        const kb = snapshotKey({ clusterName: "c", token: "t", ...b });
        assert.deepEqual(parseSnapshotKey(ka), { clusterName: "c", token: "t", ...a });
        const byParts = a.revision - b.revision || a.takenAt - b.takenAt;
        const byKey = ka === kb ? 0 : ka < kb ? -1 : 1;
        assert.equal(Math.sign(byParts), byKey);
      }),
    );
  });

  test("other keys are not snapshots", () => {
    for (const key of ["prod/t/42.db", "prod/t/00000000000000000042-20260102T030405.006Z.db.part", "x"]) {
      assert.equal(parseSnapshotKey(key), undefined);
    }
  });

  test("refuses a cluster name or token that would change the layout", () => {
    assert.throws(
      () => snapshotKey({ clusterName: "a/b", token: "t", revision: 1, takenAt: 0 }),
      InvalidSnapshotInputError,
    );
    assert.throws(
      () => snapshotKey({ clusterName: "a", token: "t/../x", revision: 1, takenAt: 0 }),
      InvalidSnapshotInputError,
    );
  });
});

describe("uploadTuning", () => {
  test("256 MB: parts of 8 MiB, 2 in flight", () => {
    assert.deepEqual(uploadTuning(256), { partSizeBytes: 8 * 1024 * 1024, queueSize: 2 });
  });

  test("1024 MB: 32 MiB parts, 4 in flight; 4096 MB: at most 64 MiB parts", () => {
    assert.deepEqual(uploadTuning(1024), { partSizeBytes: 32 * 1024 * 1024, queueSize: 4 });
    assert.deepEqual(uploadTuning(4096), { partSizeBytes: 64 * 1024 * 1024, queueSize: 4 });
  });

  test("refuses less than 256 MB: measured, 128 MB does not hold the snapshot function", () => {
    assert.throws(() => uploadTuning(128), /needs at least 256 MB/);
  });
});
