// Judges one fuzzed input's answer: a clear refusal (a lifecycle event rejected or ignored, a node
// API request answered 4xx) whose reason names what was wrong, is short, is one line, and was
// logged exactly once as JSON — never a 5xx, an accepted input or a throw.
import type { LifecycleHandled } from "../../lambdas/app/lifecycle-events";
import { safeValue } from "../../lambdas/node-api/render";
import type { HttpResponse } from "../../lambdas/node-api/serve";
import type { FuzzInput } from "./fuzz-input";

export type Answer =
  | { readonly kind: "lifecycle"; readonly handled: LifecycleHandled }
  | { readonly kind: "http"; readonly response: HttpResponse }
  | { readonly kind: "threw"; readonly error: unknown };

export interface Verdict {
  /** The answer in one word: "rejected", "ignored", "404", "threw"... */
  readonly answer: string;
  readonly reason: string;
  /** Empty when the answer is a clear refusal. */
  readonly problems: readonly string[];
}

/** Longer than this, a reason is echoing the input rather than explaining it. */
const MAX_REASON = 2048;
const WARNING_LEVELS = new Set(["WARN", "ERROR", "CRITICAL"]);

export function judge(
  input: FuzzInput,
  answer: Answer,
  logLines: readonly string[],
  tokenRecorded: boolean,
): Verdict {
  const problems: string[] = [];
  const { word, reason } = describe(answer, problems);
  if (answer.kind !== "threw") {
    if (reason.trim() === "") problems.push("refused without a reason");
    else if (!input.names.test(reason))
      problems.push(`reason does not name what was wrong (${input.names}): ${preview(reason)}`);
    if (reason.length > MAX_REASON) problems.push(`reason of ${reason.length} characters`);
    // One line: answers and logs are read line by line, so a line break in a reason forges a line.
    if (/[\r\n]/.test(reason)) problems.push(`reason breaks lines: ${JSON.stringify(preview(reason))}`);
    problems.push(...checkLogs(logLines, reason, answer.kind === "http"));
  }
  if (tokenRecorded) problems.push("the input's lifecycle action token was recorded in the ledger");
  return { answer: word, reason, problems };
}

function describe(answer: Answer, problems: string[]): { word: string; reason: string } {
  if (answer.kind === "threw") {
    const error = answer.error;
    problems.push(
      `unhandled throw: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
    );
    return { word: "threw", reason: "" };
  }
  if (answer.kind === "lifecycle") {
    const { handled } = answer;
    const reason = "reason" in handled ? handled.reason : handled.outcome;
    if (handled.status !== "rejected" && handled.status !== "ignored") {
      problems.push(`accepted: ${handled.status} (${preview(reason)})`);
    }
    return { word: handled.status, reason };
  }
  const { statusCode, body } = answer.response;
  if (statusCode < 400 || statusCode > 499) problems.push(`answered ${statusCode}: ${preview(body)}`);
  // A refused "ready" answers in the env format; every other refusal is the reason as plain text.
  const reason = /ETCD_ASG_REASON="([^"]*)"/.exec(body)?.[1] ?? body.trim();
  return { word: String(statusCode), reason };
}

/** The reason in exactly one JSON record, and no other warning or error. */
function checkLogs(lines: readonly string[], reason: string, cleaned: boolean): string[] {
  const problems: string[] = [];
  let carrying = 0;
  for (const line of lines) {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      problems.push(`log line is not JSON: ${preview(line)}`);
      continue;
    }
    // The node API's answer is the logged reason cleaned for the boot script, and trimmed.
    const carries = strings(record).some((s) => s === reason || (cleaned && safeValue(s).trim() === reason));
    if (carries) carrying++;
    else if (WARNING_LEVELS.has(String(record.level))) {
      problems.push(`unexpected ${String(record.level)} log: ${preview(String(record.message))}`);
    }
  }
  if (carrying !== 1) problems.push(`reason logged ${carrying} times, not once`);
  return problems;
}

function strings(value: unknown, depth = 0): string[] {
  if (typeof value === "string") return [value];
  if (depth > 8 || typeof value !== "object" || value === null) return [];
  return Object.values(value).flatMap((v) => strings(v, depth + 1));
}

/** At most `max` characters of `text`, for reports. */
export function preview(text: string, max = 160): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}
