// What a benchmark run produces: figures made of measured rows (samples and their median) and
// checks (a value, usually a ratio, against its target), printed as a table and written as JSON.
import { writeFileSync } from "node:fs";
import { median } from "./measure";

export type Unit = "ms" | "bytes" | "calls";

export interface Row {
  readonly label: string;
  readonly unit: Unit;
  readonly samples: readonly number[];
  readonly median: number;
  /** Extra facts worth a line (what dominates a bundle, the calls made by action). */
  readonly note?: string;
}

export interface Check {
  readonly label: string;
  /** The value compared with the target: a ratio ("×") or an absolute amount in `unit`. */
  readonly value: number;
  readonly unit: "×" | Unit;
  readonly target: string;
  readonly pass: boolean;
}

export interface Figure {
  readonly id: string;
  readonly title: string;
  readonly rows: readonly Row[];
  readonly checks: readonly Check[];
  /** How to read the figure as a whole (what a check is measured on, and why). */
  readonly notes?: readonly string[];
  /** Why the figure could not be measured; its rows and checks are then empty. */
  readonly error?: string;
}

export function row(label: string, unit: Unit, samples: readonly number[], note?: string): Row {
  return { label, unit, samples, median: median(samples), ...(note === undefined ? {} : { note }) };
}

/** value / baseline as a ratio check against `≤ limit×`. */
export function ratioCheck(label: string, value: Row, baseline: Row | number, limit: number): Check {
  const base = typeof baseline === "number" ? baseline : baseline.median;
  const ratio = value.median / base;
  return { label, value: ratio, unit: "×", target: `≤ ${limit}×`, pass: ratio <= limit };
}

export function format(value: number, unit: Check["unit"]): string {
  switch (unit) {
    case "ms":
      return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
    case "bytes":
      return `${(value / 1_000_000).toFixed(2)} MB`;
    case "calls":
      return Number.isInteger(value) ? `${value}` : value.toFixed(1);
    case "×":
      return `${value.toFixed(2)}×`;
  }
}

/** The table as printed and as pasted into docs/benchmarks.md (Markdown). */
export function renderTable(figures: readonly Figure[]): string {
  const lines: string[] = [];
  for (const figure of figures) {
    if (figure.error !== undefined) {
      lines.push(`### ${figure.title}`, "", `FAILED: ${figure.error}`, "");
      continue;
    }
    lines.push(`### ${figure.title}`, "", "| measured | median | samples |", "| --- | ---: | --- |");
    for (const r of figure.rows) {
      const samples = r.samples.map((s) => format(s, r.unit)).join(", ");
      lines.push(`| ${r.label} | ${format(r.median, r.unit)} | ${samples} |`);
    }
    const notes = figure.rows.filter((r) => r.note !== undefined);
    if (figure.checks.length > 0) {
      lines.push("", "| check | value | target | result |", "| --- | ---: | --- | --- |");
      for (const c of figure.checks) {
        lines.push(`| ${c.label} | ${format(c.value, c.unit)} | ${c.target} | ${c.pass ? "pass" : "MISS"} |`);
      }
    }
    if (notes.length > 0 || figure.notes !== undefined) {
      lines.push("");
      for (const note of figure.notes ?? []) lines.push(`- ${note}`);
      for (const r of notes) lines.push(`- ${r.label}: ${r.note}`);
    }
    lines.push("");
  }
  return lines.join("\n");
}

export interface RunInfo {
  readonly startedAt: string;
  readonly durationMs: number;
  readonly reps: number;
  readonly machine: Record<string, string | number>;
}

export function writeJson(path: string, info: RunInfo, figures: readonly Figure[]): void {
  writeFileSync(path, `${JSON.stringify({ ...info, figures }, null, 2)}\n`);
}
