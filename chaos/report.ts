// Prints chaos figures: one line per run as it ends, a failing run's seed, schedule, violations and
// replay command, and the totals at the end (runs, faults injected by kind, writes acknowledged
// and verified, and in runs that lost a majority for good the writes after the last snapshot that
// recovery did not bring back, membership changes made, violations).
import { FAULT_KINDS, type FaultCounts, type FaultKind, noFaults } from "./faults";
import type { RunResult } from "./run";
import { CLUSTER_SIZES, describeSchedule, type Schedule } from "./schedule";

export function replayCommand(schedule: Schedule): string {
  const faults = schedule.faults === undefined ? "" : ` --faults ${schedule.faults.join(",")}`;
  return `npm run chaos -- --runs 1 --seed ${schedule.seed} --size ${schedule.size} --episodes ${schedule.episodes.length}${faults}`;
}

export function runLine(result: RunResult, index: number, runs: number): string {
  const { schedule } = result;
  const faults = FAULT_KINDS.reduce((sum, kind) => sum + result.faults[kind], 0);
  return [
    `run ${index + 1}/${runs} seed ${schedule.seed} size ${schedule.size}:`,
    `${schedule.episodes.map((e) => e.kind).join(" + ")};`,
    `${faults} faults,`,
    `writes ${result.writesVerified}/${result.writesAcknowledged} verified,`,
    ...(result.writesLostAfterSnapshot > 0 ? [`${result.writesLostAfterSnapshot} lost after snapshot,`] : []),
    ...(result.generationsSeen > 1 ? [`${result.generationsSeen} generations,`] : []),
    `${sum(result.membershipChanges)} membership changes,`,
    `${result.violations.length} violations`,
    `(${(result.durationMs / 1000).toFixed(0)}s)`,
  ].join(" ");
}

/** Timeline lines printed with a failing run (its files hold everything). */
const TIMELINE_TAIL = 80;

export function failureReport(result: RunResult): string[] {
  const timeline = result.timeline ?? [];
  return [
    `FAILED seed ${result.schedule.seed} (size ${result.schedule.size}); schedule:`,
    ...describeSchedule(result.schedule).map((line) => `    ${line}`),
    `  timeline (last ${Math.min(TIMELINE_TAIL, timeline.length)} of ${timeline.length} entries):`,
    ...timeline.slice(-TIMELINE_TAIL).map((line) => `  ${line}`),
    ...result.violations.map((v) => `  violation ${v.invariant}: ${v.detail}`),
    ...(result.keptFiles ? [`  files kept in ${result.keptFiles}`] : []),
    `  replay: ${replayCommand(result.schedule)}`,
  ];
}

export function summary(results: readonly RunResult[], elapsedMs: number): string[] {
  const faults: FaultCounts = noFaults();
  const changes: Record<string, number> = {};
  for (const result of results) {
    for (const kind of FAULT_KINDS) faults[kind] += result.faults[kind];
    for (const [kind, n] of Object.entries(result.membershipChanges))
      changes[kind] = (changes[kind] ?? 0) + n;
  }
  const total = (pick: (r: RunResult) => number) => results.reduce((n, r) => n + pick(r), 0);
  const sizes = CLUSTER_SIZES.map(
    (size) => `${results.filter((r) => r.schedule.size === size).length} of ${size}`,
  );
  return [
    `runs: ${results.length} (${sizes.join(", ")} nodes) in ${(elapsedMs / 60_000).toFixed(1)} min, ${perRun(results)} per run`,
    `faults injected: ${sum(faults)}`,
    `  ${"kind".padEnd(26)} ${"runs".padStart(6)} ${"faults".padStart(7)} ${"violations".padStart(10)}`,
    ...perKind(results).map(
      (row) =>
        `  ${row.kind.padEnd(26)} ${String(row.runs).padStart(6)} ${String(row.faults).padStart(7)} ${String(row.violations).padStart(10)}`,
    ),
    `writes: ${total((r) => r.writesAttempted)} attempted, ${total((r) => r.writesAcknowledged)} acknowledged, ${total((r) => r.writesVerified)} verified, ${total((r) => r.writesLostAfterSnapshot)} lost after snapshot (majority-lost)`,
    `membership changes made: ${sum(changes)} (${
      Object.entries(changes)
        .sort()
        .map(([kind, n]) => `${kind} ${n}`)
        .join(", ") || "none"
    })`,
    violationsLine(results),
  ];
}

/** `violations: N`, and the seeds of the runs that found them. */
export function violationsLine(results: readonly RunResult[]): string {
  const violations = results.reduce((n, r) => n + r.violations.length, 0);
  const failed = results.filter((r) => r.violations.length > 0);
  return `violations: ${violations}${failed.length > 0 ? ` in runs with seeds ${failed.map((r) => r.schedule.seed).join(", ")}` : ""}`;
}

export interface KindRow {
  readonly kind: FaultKind;
  /** Runs that injected the kind at least once. */
  readonly runs: number;
  readonly faults: number;
  /** Violations in those runs. */
  readonly violations: number;
}

/** Per fault kind: the runs that injected it, how often, and the violations of those runs. */
export function perKind(results: readonly RunResult[]): KindRow[] {
  return FAULT_KINDS.map((kind) => {
    const runs = results.filter((r) => r.faults[kind] > 0);
    return {
      kind,
      runs: runs.length,
      faults: runs.reduce((n, r) => n + r.faults[kind], 0),
      violations: runs.reduce((n, r) => n + r.violations.length, 0),
    };
  });
}

/** The campaign as JSON: totals, the per-kind table and each run without its timeline. */
export function campaignJson(results: readonly RunResult[], elapsedMs: number, harnessErrors: number) {
  return {
    runs: results.length,
    harnessErrors,
    elapsedMs,
    violations: results.reduce((n, r) => n + r.violations.length, 0),
    writesLostAfterSnapshot: results.reduce((n, r) => n + r.writesLostAfterSnapshot, 0),
    byKind: perKind(results),
    results: results.map(({ timeline: _timeline, ...result }) => result),
  };
}

function perRun(results: readonly RunResult[]): string {
  if (results.length === 0) return "no run";
  const mean = results.reduce((n, r) => n + r.durationMs, 0) / results.length;
  return `${(mean / 1000).toFixed(0)}s`;
}

function sum(counts: Readonly<Record<string, number>>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
