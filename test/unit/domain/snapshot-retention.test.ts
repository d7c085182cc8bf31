// Which snapshots a retention policy keeps: table cases for hourly-for-7-days and daily-for-90-days,
// then properties over random object sets (the newest and the pinned are never removed, keep and
// remove split the set, a second pass removes nothing more).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  DEFAULT_RETENTION,
  formatRetention,
  InvalidRetentionError,
  parseRetention,
  retainedSnapshots,
  retentionProblems,
  type StoredSnapshot,
} from "../../../lambdas/domain/snapshot-retention";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Midnight UTC, so hours and days line up with the periods. */
const NOW = Date.UTC(2026, 0, 31);

function at(ms: number, name = String(ms)): StoredSnapshot {
  return { key: `snap-${name}`, takenAt: NOW - ms };
}

function retain(snapshots: StoredSnapshot[], pinned: string[] = []) {
  return retainedSnapshots({ snapshots, tiers: DEFAULT_RETENTION, now: NOW, pinned });
}

describe("retainedSnapshots", () => {
  test("keeps the newest of each hour for 7 days", () => {
    const every30Min = Array.from({ length: 8 }, (_, i) => at((i + 1) * 30 * 60_000));
    const { keep, remove } = retain(every30Min);
    // 30 and 60 min before midnight are both in the hour from 23:00; the newer of each pair stays.
    assert.deepEqual(
      keep,
      [30, 90, 150, 210].map((m) => `snap-${m * 60_000}`),
    );
    assert.deepEqual(
      remove,
      [60, 120, 180, 240].map((m) => `snap-${m * 60_000}`),
    );
  });

  test("past 7 days keeps one a day, and past 90 days nothing but the newest", () => {
    const old = [at(8 * DAY + HOUR), at(8 * DAY + 2 * HOUR), at(9 * DAY + HOUR), at(91 * DAY), at(200 * DAY)];
    const { keep } = retain([at(HOUR), ...old]);
    assert.deepEqual(
      keep,
      [at(HOUR), at(8 * DAY + HOUR), at(9 * DAY + HOUR)].map((s) => s.key),
    );
  });

  test("never deletes the newest snapshot, however old (snapshots stopped)", () => {
    const { keep, remove } = retain([at(400 * DAY), at(500 * DAY)]);
    assert.deepEqual(keep, [at(400 * DAY).key]);
    assert.deepEqual(remove, [at(500 * DAY).key]);
  });

  test("never deletes a pinned snapshot (the restore source of the current generation)", () => {
    const { keep } = retain([at(HOUR), at(300 * DAY)], [at(300 * DAY).key]);
    assert.ok(keep.includes(at(300 * DAY).key));
  });

  test("keeps a snapshot dated ahead of the clock", () => {
    const { keep } = retain([at(-HOUR), at(-2 * HOUR), at(HOUR)]);
    assert.equal(keep.length, 3);
  });

  test("an empty listing keeps and removes nothing", () => {
    assert.deepEqual(retain([]), { keep: [], remove: [] });
  });
});

describe("retentionProblems", () => {
  test("accepts the default", () => {
    assert.deepEqual(retentionProblems(DEFAULT_RETENTION), []);
  });

  test("names a period that is not positive and a window shorter than its period", () => {
    assert.deepEqual(retentionProblems([{ everyMs: 0, forMs: DAY }]), [
      "tier 0: everyMs must be a positive whole number of milliseconds, got 0",
    ]);
    assert.deepEqual(retentionProblems([{ everyMs: DAY, forMs: HOUR }]), [
      `tier 0: forMs must be at least everyMs (${DAY}), got ${HOUR}`,
    ]);
  });
});

describe("parseRetention", () => {
  test("reads what formatRetention writes: the default is hourly for 7 days, daily for 90", () => {
    assert.equal(formatRetention(DEFAULT_RETENTION), "3600:604800,86400:7776000");
    assert.deepEqual(parseRetention(formatRetention(DEFAULT_RETENTION)), DEFAULT_RETENTION);
  });

  test("names the tier that is not <every>:<for>", () => {
    assert.throws(
      () => parseRetention("3600:604800,daily"),
      (e: Error) => {
        assert.ok(e instanceof InvalidRetentionError);
        assert.match(e.message, /tier 1 is "daily"/);
        return true;
      },
    );
  });

  test("refuses tiers retentionProblems refuses", () => {
    assert.throws(() => parseRetention("0:3600"), InvalidRetentionError);
  });
});

describe("retention properties", () => {
  const snapshotsArb = fc.uniqueArray(
    fc.record({
      key: fc.string({ minLength: 1, maxLength: 6 }),
      takenAt: fc.integer({ min: NOW - 200 * DAY, max: NOW + DAY }),
    }),
    { selector: (s) => s.key, maxLength: 60 },
  );
  const inputArb = fc.record({
    snapshots: snapshotsArb,
    pinnedCount: fc.integer({ min: 0, max: 3 }),
    tiers: fc.constantFrom(DEFAULT_RETENTION, [{ everyMs: HOUR, forMs: DAY }], []),
  });

  test("the newest and the pinned are kept; keep and remove split the set", () => {
    fc.assert(
      fc.property(inputArb, ({ snapshots, pinnedCount, tiers }) => {
        const pinned = snapshots.slice(0, pinnedCount).map((s) => s.key);
        const { keep, remove } = retainedSnapshots({ snapshots, tiers, now: NOW, pinned });
        assert.equal(keep.length + remove.length, snapshots.length);
        assert.deepEqual(new Set([...keep, ...remove]), new Set(snapshots.map((s) => s.key)));
        const newestTime = Math.max(...snapshots.map((s) => s.takenAt));
        for (const s of snapshots) {
          if (s.takenAt === newestTime && !keep.includes(s.key)) {
            // Only one of several equally new snapshots is the newest; one of them must be kept.
            assert.ok(snapshots.some((o) => o.takenAt === newestTime && keep.includes(o.key)));
          }
        }
        for (const key of pinned) assert.ok(keep.includes(key));
        // Within a tier's window, every period with a snapshot keeps one.
        for (const tier of tiers) {
          const periods = new Set(
            snapshots
              .filter((s) => NOW - s.takenAt < tier.forMs)
              .map((s) => Math.floor(s.takenAt / tier.everyMs)),
          );
          const keptPeriods = new Set(
            snapshots
              .filter((s) => keep.includes(s.key) && NOW - s.takenAt < tier.forMs)
              .map((s) => Math.floor(s.takenAt / tier.everyMs)),
          );
          assert.deepEqual(keptPeriods, periods);
        }
      }),
      { numRuns: 3_000 },
    );
  });

  test("a second pass over what was kept removes nothing", () => {
    fc.assert(
      fc.property(inputArb, ({ snapshots, pinnedCount, tiers }) => {
        const pinned = snapshots.slice(0, pinnedCount).map((s) => s.key);
        const first = retainedSnapshots({ snapshots, tiers, now: NOW, pinned });
        const kept = snapshots.filter((s) => first.keep.includes(s.key));
        const second = retainedSnapshots({ snapshots: kept, tiers, now: NOW, pinned });
        assert.deepEqual(second.remove, []);
      }),
      { numRuns: 3_000 },
    );
  });
});
