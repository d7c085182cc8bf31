// Fires generated inputs at the control plane of a formed cluster and checks, after each batch and
// at the end, that the ledger state, etcd's member list and the group's instances are unchanged,
// and that every input got a clear refusal (see verdict.ts). Inputs are drawn per batch from a seed
// derived from the run's seed, so a run is the same given its seed and memory stays bounded even
// with megabyte payloads.

import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { handleLifecycleEvent } from "../../lambdas/app/lifecycle-events";
import { parseNodeRole } from "../../lambdas/node-api/identity";
import { handleNodeApi } from "../../lambdas/node-api/respond";
import type { ControlPlaneBed } from "../../test/helpers/control-plane";
import type { FuzzInput, FuzzTarget } from "./fuzz-input";
import { launchInputs, terminateInputs } from "./lifecycle-inputs";
import { captureLogs } from "./log-capture";
import { nodeApiInputs } from "./node-api-inputs";
import { type Answer, judge, preview } from "./verdict";

export interface FuzzOptions {
  readonly inputs: number;
  readonly seed: number;
  /** Inputs between two state checks. @default 100 */
  readonly batchSize?: number;
  /** Inputs in flight at once. @default 8 */
  readonly concurrency?: number;
  /** Called after each batch's state check. */
  readonly onBatch?: (done: number, report: FuzzReport) => void;
}

export interface Finding {
  /** Position in the run: the same seed draws the same input at the same index. */
  readonly index: number;
  readonly category: string;
  readonly answer: string;
  readonly problems: readonly string[];
  readonly input: string;
}

export interface StateChange {
  readonly afterInput: number;
  readonly what: string;
  readonly before: string;
  readonly after: string;
}

export interface FuzzReport {
  readonly seed: number;
  tried: number;
  readonly byCategory: Map<string, number>;
  readonly answers: Map<string, number>;
  /** Inputs whose answer was not a clear refusal, except known defects. */
  readonly findings: Finding[];
  readonly unintendedChanges: StateChange[];
}

export function fuzzTarget(bed: ControlPlaneBed): FuzzTarget {
  const { config } = bed.runtime;
  return {
    asgName: config.asgName,
    launchHook: config.launchHookName,
    terminateHook: config.terminateHookName,
    account: "123456789012",
    nodeRole: parseNodeRole(config.instanceRoleArn).name,
    instanceIds: bed.instanceIds(),
  };
}

export function inputsFor(target: FuzzTarget): fc.Arbitrary<FuzzInput> {
  return fc.oneof(launchInputs(target), terminateInputs(target), nodeApiInputs(target));
}

export async function runFuzz(bed: ControlPlaneBed, options: FuzzOptions): Promise<FuzzReport> {
  const batchSize = options.batchSize ?? 100;
  const concurrency = options.concurrency ?? 8;
  const arbitrary = inputsFor(fuzzTarget(bed));
  const report: FuzzReport = {
    seed: options.seed,
    tried: 0,
    byCategory: new Map(),
    answers: new Map(),
    findings: [],
    unintendedChanges: [],
  };
  let before = await observe(bed);
  for (let batch = 0; report.tried < options.inputs; batch++) {
    const size = Math.min(batchSize, options.inputs - report.tried);
    const inputs = fc.sample(arbitrary, { seed: batchSeed(options.seed, batch), numRuns: size });
    for (let i = 0; i < inputs.length; i += concurrency) {
      const slice = inputs.slice(i, i + concurrency);
      await Promise.all(slice.map((input, j) => fire(bed, input, report, report.tried + i + j)));
    }
    report.tried += inputs.length;
    const after = await observe(bed);
    for (const [what, value] of Object.entries(after)) {
      const was = before[what as keyof State];
      if (value !== was)
        report.unintendedChanges.push({ afterInput: report.tried, what, before: was, after: value });
    }
    // Each change is counted once, in the batch that made it.
    before = after;
    options.onBatch?.(report.tried, report);
  }
  return report;
}

async function fire(
  bed: ControlPlaneBed,
  input: FuzzInput,
  report: FuzzReport,
  index: number,
): Promise<void> {
  const logs = captureLogs(bed.runtime.logger);
  const rt = { ...bed.runtime, logger: logs.logger };
  const context = { awsRequestId: randomUUID() };
  let answer: Answer;
  try {
    answer =
      input.handler === "node-api"
        ? { kind: "http", response: await handleNodeApi(rt, input.event, context) }
        : { kind: "lifecycle", handled: await handleLifecycleEvent(rt, input.handler, input.event, context) };
  } catch (error) {
    answer = { kind: "threw", error };
  }
  const tokenRecorded =
    input.token !== undefined && (await bed.runtime.ledger.tokenOutcome(input.token)) !== undefined;
  const verdict = judge(input, answer, logs.lines, tokenRecorded);
  const category = `${input.handler}: ${input.category}`;
  count(report.byCategory, category);
  count(report.answers, `${input.handler === "node-api" ? "node API" : "lifecycle"} ${verdict.answer}`);
  if (verdict.problems.length === 0) return;
  report.findings.push({
    index,
    category,
    answer: verdict.answer,
    problems: verdict.problems,
    input: describeInput(input.event),
  });
}

interface State {
  readonly ledger: string;
  readonly "etcd members": string;
  readonly "group instances": string;
}

async function observe(bed: ControlPlaneBed): Promise<State> {
  const [ledger, members] = await Promise.all([bed.runtime.ledger.loadState(), bed.members()]);
  return {
    ledger: JSON.stringify(ledger),
    // The member list as etcd keeps it; health is a probe of the moment, not part of the list.
    "etcd members": JSON.stringify(
      members.map(({ id, name, peerUrls, clientUrls, isLearner }) => ({
        id,
        name,
        peerUrls,
        clientUrls,
        isLearner,
      })),
    ),
    "group instances": JSON.stringify(
      bed.group.instances().map((i) => ({ id: i.id, state: i.lifecycleState, ip: i.privateIp })),
    ),
  };
}

function batchSeed(seed: number, batch: number): number {
  return (Math.imul(seed, 0x9e3779b1) ^ Math.imul(batch + 1, 0x85ebca6b)) | 0;
}

function count<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** The input as JSON, strings and nesting cut short so a 1 MB or 20,000-deep input still prints. */
export function describeInput(value: unknown): string {
  const shorten = (v: unknown, depth: number): unknown => {
    if (typeof v === "string") return preview(v, 120);
    if (v === undefined) return "(undefined)";
    if (typeof v === "number" && !Number.isFinite(v)) return String(v);
    if (typeof v !== "object" || v === null) return v;
    if (depth >= 6) return "(nested deeper)";
    if (Array.isArray(v)) return v.map((e) => shorten(e, depth + 1));
    return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, shorten(e, depth + 1)]));
  };
  return JSON.stringify(shorten(value, 0));
}
