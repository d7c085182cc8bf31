// Where one instance's way from "user data starts" to "healthy voter, InService" goes, phase by
// phase, read off the simulator's timeline and the function invocations it reports (wall-clock
// timestamps, to the ms): the boot script's own work up to its first node-API request, the node-API
// requests before etcd starts (the configuration, which brings the certificates), etcd's start and first healthy answer,
// the ready report (promote, complete the lifecycle action, retried while the learner catches up),
// and the bench seeing it converged. The simulator's own overhead on the way (Lambda cold starts:
// fork, Node's start, the bundle's init; waiting for a container, behind a serial function or for the
// one container another invocation is starting, where Lambda would start a second; the function URL's
// front, from a request's arrival to its invocation) is shown apart, and so is the launch hook,
// which AWS runs while the instance boots.
import type { InvocationRecord } from "../local/simulator/lambda-function";
import type { Simulator } from "../local/simulator/simulator";
import { median } from "./measure";

export type Breakdown = Record<string, number>;

/** Collects the simulator's invocations until stop() is called. */
export class InvocationLog {
  readonly records: InvocationRecord[] = [];
  private readonly unsubscribe: () => void;

  constructor(sim: Simulator) {
    this.unsubscribe = sim.onInvocation((record) => this.records.push(record));
  }

  stop(): void {
    this.unsubscribe();
  }
}

/**
 * The phases of `instanceId`, whose user data started at `startMs` and which the bench saw converged
 * at `endMs` (both epoch ms). Phases that did not happen are left out.
 */
export function breakdown(
  records: readonly InvocationRecord[],
  instanceId: string,
  startMs: number,
  endMs: number,
): Breakdown {
  const api = records
    .filter((r) => nodeApiCaller(r) === instanceId)
    .sort((a, b) => a.invokedAt - b.invokedAt);
  const ready = api.filter((r) => nodeApiPath(r).endsWith("/ready"));
  const before = api.filter((r) => !nodeApiPath(r).endsWith("/ready"));
  const phases: Breakdown = {};
  const firstApi = api[0];
  if (firstApi !== undefined)
    phases["boot script to its first node-API request"] = firstApi.invokedAt - startMs;
  const lastBefore = before.at(-1);
  if (firstApi !== undefined && lastBefore !== undefined)
    phases["node-API requests before etcd (config with certificates)"] =
      lastBefore.endedAt - firstApi.invokedAt;
  const firstReady = ready[0];
  const lastReady = ready.at(-1);
  if (lastBefore !== undefined && firstReady !== undefined)
    phases["etcd start and first healthy answer"] = firstReady.invokedAt - lastBefore.endedAt;
  if (firstReady !== undefined && lastReady !== undefined) {
    phases[`ready report (promote, complete; ${ready.length} request${ready.length > 1 ? "s" : ""})`] =
      lastReady.endedAt - firstReady.invokedAt;
    phases["InService and seen converged"] = endMs - lastReady.endedAt;
  }
  const onPath = api.filter((r) => r.invokedAt >= startMs && r.endedAt <= endMs);
  phases["of which simulator: cold starts"] = sum(onPath.map((r) => r.coldStartMs));
  phases["of which simulator: waiting for a container (serial queue, another's cold start)"] = sum(
    onPath.map((r) => r.startedAt - r.invokedAt - r.coldStartMs),
  );
  phases["of which simulator: function URL front (body, SigV4 check, IAM gate)"] = sum(
    onPath.map((r) => r.frontMs ?? 0),
  );
  const launch = records.find((r) => launchOf(r) === instanceId);
  if (launch !== undefined) phases["launch hook ended (off the clock when < 0)"] = launch.endedAt - startMs;
  return phases;
}

/** Of `instanceIds`, the one whose last ready report ended last. */
export function lastReady(
  records: readonly InvocationRecord[],
  instanceIds: readonly string[],
): string | undefined {
  let last: InvocationRecord | undefined;
  for (const record of records) {
    const caller = nodeApiCaller(record);
    if (caller === undefined || !instanceIds.includes(caller) || !nodeApiPath(record).endsWith("/ready"))
      continue;
    if (last === undefined || record.endedAt > last.endedAt) last = record;
  }
  return last === undefined ? undefined : nodeApiCaller(last);
}

/** "boot script … 412 ms, …" with the median over the runs, in the order of the first run. */
export function describeBreakdown(runs: readonly Breakdown[]): string {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  const parts = names.map((name) => {
    const values = runs.map((r) => r[name]).filter((v): v is number => v !== undefined);
    return `${name} ${Math.round(median(values))} ms`;
  });
  return `median critical path of the last instance to converge (ms from its user data start): ${parts.join("; ")}`;
}

interface UrlEvent {
  readonly rawPath?: string;
  readonly requestContext?: { readonly authorizer?: { readonly iam?: { readonly userArn?: string } } };
}

/** The instance a node-API request came from (its role session is named after it). */
export function nodeApiCaller(record: InvocationRecord): string | undefined {
  const arn = (record.event as UrlEvent).requestContext?.authorizer?.iam?.userArn;
  return arn?.startsWith("arn:aws:sts::") ? arn.split("/").at(-1) : undefined;
}

export function nodeApiPath(record: InvocationRecord): string {
  return (record.event as UrlEvent).rawPath ?? "";
}

/** The instance of a launch lifecycle event ("EC2 Instance-launch Lifecycle Action"). */
function launchOf(record: InvocationRecord): string | undefined {
  const event = record.event as { "detail-type"?: string; detail?: { EC2InstanceId?: string } };
  return event["detail-type"]?.includes("-launch ") ? event.detail?.EC2InstanceId : undefined;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
