// The control-plane fault kinds of a chaos run, each played around a health replacement (the
// instance terminated and its replacement launched at once) so the control plane has a membership
// change to make while the fault is on:
// - ledger-outage: the ledger's DynamoDB endpoint refuses every request for a while, as the service
//   failing (500) or throttling the table (400), then serves again; etcd's members must not change
//   meanwhile (no-change-without-ledger);
// - lambda-timeout: the node API hangs at the launch's CompleteLifecycleAction, after its etcd change,
//   and Lambda kills it at its timeout (Sandbox.Timedout): the change is made, the completion is not;
// - clock-skew: the time of day of each control-plane function off by up to a few seconds, each its own.
// A fault that touched nothing (no request refused, no invocation timed out or ran skewed) did nothing
// and is not counted.
import { setTimeout as sleep } from "node:timers/promises";
import type { DynamoDbOutageMode } from "../local/dynamodb/outage";
import type { InvocationRecord } from "../local/simulator/lambda-function";
import type { Simulator } from "../local/simulator/simulator";
import type { EpisodeContext } from "./episodes";
import type { Episode } from "./schedule";

export const CONTROL_PLANE_FAULT_KINDS = ["ledger-outage", "lambda-timeout", "clock-skew"] as const;

export type ControlPlaneFaultKind = (typeof CONTROL_PLANE_FAULT_KINDS)[number];

/** The functions whose clocks clock-skew sets off, each by its own offset. */
export const SKEWED_FUNCTIONS = ["launch-hook", "terminate-hook", "reconciler", "node-api"] as const;

/** What a control-plane fault episode draws from its seed. */
export interface ControlPlaneFaultPlan {
  /** ledger-outage: how the ledger refuses, and for how long. */
  readonly outage: DynamoDbOutageMode;
  readonly outageMs: number;
  /** clock-skew: each function's offset from the real time of day, in ms. */
  readonly skewsMs: Readonly<Record<(typeof SKEWED_FUNCTIONS)[number], number>>;
}

/** The function lambda-timeout hangs: the one that completes a launch after promoting its learner. */
export const HUNG_FUNCTION = "node-api";

export function isControlPlaneFaultKind(kind: string): kind is ControlPlaneFaultKind {
  return (CONTROL_PLANE_FAULT_KINDS as readonly string[]).includes(kind);
}

export async function playControlPlaneFault(
  ctx: EpisodeContext,
  kind: ControlPlaneFaultKind,
  episode: Episode,
  replace: (ctx: EpisodeContext, episode: Episode) => Promise<void>,
): Promise<void> {
  const plan = episode.controlPlane;
  if (plan === undefined) throw new Error(`${kind} episode without a control-plane plan`);
  await ctx.sim.waitConverged(ctx.convergeMs);
  // The membership change the fault is played around.
  const change = () => replace(ctx, episode);
  switch (kind) {
    case "ledger-outage":
      return ledgerOutage(ctx, plan, change);
    case "lambda-timeout":
      return lambdaTimeout(ctx, change);
    case "clock-skew":
      return clockSkew(ctx, plan, change);
  }
}

async function ledgerOutage(
  ctx: EpisodeContext,
  plan: ControlPlaneFaultPlan,
  change: () => Promise<void>,
): Promise<void> {
  const { sim, faults } = ctx;
  const outage = sim.ledgerOutage;
  const refusedBefore = outage.refused;
  outage.begin(plan.outage);
  sim.timeline.add("fault", `ledger-outage (${plan.outage}) for ${plan.outageMs} ms`);
  try {
    const replacing = change();
    // Every membership change renews the ledger's lock right before it, so none starts while the
    // ledger is down (no-change-without-ledger); one under way when it went down lands at once.
    await sleep(IN_FLIGHT_MS);
    const from = await memberView(sim);
    await sleep(plan.outageMs - IN_FLIGHT_MS);
    const to = await memberView(sim);
    outage.end();
    if (from !== undefined && to !== undefined && from !== to) {
      ctx.violations.push({
        invariant: "no-change-without-ledger",
        detail: `while the ledger was ${plan.outage}, etcd's members went from ${from} to ${to}`,
      });
    }
    await replacing;
  } finally {
    outage.end();
  }
  const refused = outage.refused - refusedBefore;
  sim.timeline.add("fault", `ledger-outage over: ${refused} requests refused`);
  if (refused > 0) faults.count("ledger-outage");
}

/** How long a membership change under way when the ledger goes down may take to land. */
const IN_FLIGHT_MS = 2000;

/** etcd's members (name, ID, learner or voter) as one comparable line; undefined when unreadable. */
async function memberView(sim: Simulator): Promise<string | undefined> {
  try {
    const members = await sim.members();
    return `[${members
      .map((m) => `${m.name}=${m.id}${m.isLearner ? " (learner)" : ""}`)
      .sort()
      .join(", ")}]`;
  } catch {
    return undefined;
  }
}

async function lambdaTimeout(ctx: EpisodeContext, change: () => Promise<void>): Promise<void> {
  const { sim, faults } = ctx;
  const timedOut: InvocationRecord[] = [];
  const stop = sim.onInvocation((record) => {
    if (record.fn === HUNG_FUNCTION && record.error === "Sandbox.Timedout") timedOut.push(record);
  });
  try {
    await change();
    await sim.waitConverged(ctx.convergeMs);
    // The hang ends at the function's timeout, which the cluster may have converged before.
    if (faults.hung) {
      await sim.waitFor(`${HUNG_FUNCTION} to time out`, () => timedOut.length > 0, ctx.convergeMs);
    }
  } finally {
    stop();
  }
  sim.timeline.add("fault", `lambda-timeout: ${timedOut.length} invocations of ${HUNG_FUNCTION} timed out`);
  if (timedOut.length > 0) faults.count("lambda-timeout");
}

async function clockSkew(
  ctx: EpisodeContext,
  plan: ControlPlaneFaultPlan,
  change: () => Promise<void>,
): Promise<void> {
  const { sim, faults } = ctx;
  let skewed = 0;
  const stop = sim.onInvocation((record) => {
    if (sim.fn(record.fn).clockOffset !== 0) skewed += 1;
  });
  const described = Object.entries(plan.skewsMs).map(([fn, ms]) => `${fn} ${ms > 0 ? "+" : ""}${ms} ms`);
  sim.timeline.add("fault", `clock-skew: ${described.join(", ")}`);
  try {
    for (const [fn, ms] of Object.entries(plan.skewsMs)) sim.fn(fn).skewClock(ms);
    await change();
    await sim.waitConverged(ctx.convergeMs);
  } finally {
    stop();
    for (const fn of SKEWED_FUNCTIONS) sim.fn(fn).skewClock(0);
  }
  sim.timeline.add("fault", `clock-skew healed: ${skewed} invocations ran skewed`);
  if (skewed > 0) faults.count("clock-skew");
}
