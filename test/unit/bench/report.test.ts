import assert from "node:assert/strict";
import { test } from "node:test";
import { format, ratioCheck, renderTable, row } from "../../../bench/report";

test("a ratio check divides the medians and passes at the limit", () => {
  const floor = row("floor", "ms", [100, 200, 300]);
  const measured = row("etcd-asg", "ms", [300, 250, 350]);
  const check = ratioCheck("etcd-asg / floor", measured, floor, 1.5);
  assert.equal(check.value, 1.5);
  assert.equal(check.pass, true);
  assert.equal(ratioCheck("x", measured, 100, 1.5).pass, false);
});

test("values print in the unit a reader expects", () => {
  assert.equal(format(842.4, "ms"), "842 ms");
  assert.equal(format(24_655, "ms"), "24.7 s");
  assert.equal(format(2_030_000, "bytes"), "2.03 MB");
  assert.equal(format(1.234, "×"), "1.23×");
});

test("the table shows every row, every check with its result, the figure's notes and the rows' notes", () => {
  const floor = row("floor", "ms", [100]);
  const measured = row("etcd-asg", "ms", [400], "launch handled 0.5 s");
  const table = renderTable([
    {
      id: "f",
      title: "1. Figure",
      rows: [floor, measured],
      checks: [ratioCheck("ratio", measured, floor, 1.5)],
      notes: ["the ratio is checked on medians"],
    },
  ]);
  assert.match(table, /\| etcd-asg \| 400 ms \| 400 ms \|/);
  assert.match(table, /\| ratio \| 4\.00× \| ≤ 1\.5× \| MISS \|/);
  assert.match(table, /\n- the ratio is checked on medians\n- etcd-asg: launch handled 0\.5 s/);
});
