// Prints a fuzz run's figures: inputs tried by category, answers, known defects, findings (with the
// command that replays them) and unintended changes.
import type { Finding, FuzzReport } from "./runner";

const MAX_KINDS_SHOWN = 20;

export function formatReport(
  report: FuzzReport,
  timing: { readonly fuzzMs: number; readonly formedMs?: number; readonly inputs: number },
): string {
  const lines = [
    `seed ${report.seed}: ${report.tried} inputs in ${seconds(timing.fuzzMs)}${timing.formedMs === undefined ? "" : ` (cluster formed in ${seconds(timing.formedMs)})`}`,
    "",
    "inputs by category:",
    ...table(report.byCategory),
    "",
    "answers:",
    ...table(report.answers),
    "",
    `findings (unclear answers): ${report.findings.length}`,
    ...examples(report.findings).flatMap(([f, n]) => [
      `  ${String(n).padStart(6)}  ${f.category} → ${f.answer}; first: #${f.index}`,
      ...f.problems.map((p) => `      ${p}`),
      `      input: ${f.input}`,
    ]),
    `unintended changes: ${report.unintendedChanges.length}`,
    ...report.unintendedChanges.flatMap((c) => [
      `  ${c.what} changed by input ≤ #${c.afterInput - 1}`,
      `      before: ${c.before.slice(0, 400)}`,
      `      after:  ${c.after.slice(0, 400)}`,
    ]),
  ];
  if (report.findings.length > 0 || report.unintendedChanges.length > 0) {
    lines.push("", `replay: npm run fuzz -- --seed ${report.seed} --inputs ${timing.inputs}`);
  }
  return lines.join("\n");
}

/** One example per kind of finding (category and answer), with how many there were; the first few kinds. */
function examples(findings: readonly Finding[]): Array<[Finding, number]> {
  const kinds = new Map<string, [Finding, number]>();
  for (const f of findings) {
    const key = `${f.category} → ${f.answer}`;
    const seen = kinds.get(key);
    kinds.set(key, seen === undefined ? [f, 1] : [seen[0], seen[1] + 1]);
  }
  return [...kinds.values()].slice(0, MAX_KINDS_SHOWN);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function table(counts: Map<string, number>): string[] {
  return [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `  ${String(n).padStart(6)}  ${k}`);
}
