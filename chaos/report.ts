// Prints chaos figures: one line per run as it ends, a failing run's seed, schedule, violations and
// replay command, and the totals at the end (runs, faults injected by kind, writes acknowledged
// and verified, membership changes made, violations).
import { FAULT_KINDS, type FaultCounts, noFaults } from "./faults";
import type { RunResult } from "./run";
import { describeSchedule, type Schedule } from "./schedule";

export function replayCommand(schedule: Schedule): string {
  return `npm run chaos -- --runs 1 --seed ${schedule.seed} --size ${schedule.size} --episodes ${schedule.episodes.length}`;
}

export function runLine(result: RunResult, index: number, runs: number): string {
  const { schedule } = result;
  const faults = FAULT_KINDS.reduce((sum, kind) => sum + result.faults[kind], 0);
  return [
    `run ${index + 1}/${runs} seed ${schedule.seed} size ${schedule.size}:`,
    `${schedule.episodes.map((e) => e.kind).join(" + ")};`,
    `${faults} faults,`,
    `writes ${result.writesVerified}/${result.writesAcknowledged} verified,`,
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
  const violations = total((r) => r.violations.length);
  const failed = results.filter((r) => r.violations.length > 0);
  return [
    `runs: ${results.length} (${results.filter((r) => r.schedule.size === 3).length} of 3 nodes, ${results.filter((r) => r.schedule.size === 5).length} of 5) in ${(elapsedMs / 60_000).toFixed(1)} min`,
    `faults injected: ${sum(faults)}`,
    ...FAULT_KINDS.map((kind) => `  ${kind.padEnd(26)} ${faults[kind]}`),
    `writes: ${total((r) => r.writesAttempted)} attempted, ${total((r) => r.writesAcknowledged)} acknowledged, ${total((r) => r.writesVerified)} verified`,
    `membership changes made: ${sum(changes)} (${
      Object.entries(changes)
        .sort()
        .map(([kind, n]) => `${kind} ${n}`)
        .join(", ") || "none"
    })`,
    `violations: ${violations}${failed.length > 0 ? ` in runs with seeds ${failed.map((r) => r.schedule.seed).join(", ")}` : ""}`,
  ];
}

function sum(counts: Readonly<Record<string, number>>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
