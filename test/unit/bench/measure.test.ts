import assert from "node:assert/strict";
import { test } from "node:test";
import { BenchTimeoutError, median, pollUntil, retry } from "../../../bench/measure";

test("the median of an odd count is the middle sample, of an even count the mean of the two middle ones", () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
});

test("the median of no samples is an error, not a number", () => {
  assert.throws(() => median([]), RangeError);
});

test("pollUntil names what it waited for when the time is up", async () => {
  await assert.rejects(
    pollUntil("the moon", () => false, 50),
    (error: unknown) => error instanceof BenchTimeoutError && error.message.includes("the moon"),
  );
});

test("retry returns the first success and keeps the last failure as the cause when it gives up", async () => {
  let calls = 0;
  assert.equal(
    await retry("flaky", async () => (++calls < 3 ? Promise.reject(new Error("not yet")) : "done"), 5000),
    "done",
  );
  await assert.rejects(
    retry("never", () => Promise.reject(new Error("refused")), 50),
    (error: unknown) => error instanceof BenchTimeoutError && (error.cause as Error).message === "refused",
  );
});
