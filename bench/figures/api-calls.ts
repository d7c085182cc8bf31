// Figure 6: AWS API calls (Auto Scaling + EC2, counted by the emulator per action) that the control
// plane makes per lifecycle event, per kind: a launch that bootstraps, a terminate that removes a
// member, a launch that joins, a node's ready call (initial member, and promoting a learner), and a
// reconcile pass on a settled cluster. Measured on the in-process control-plane bed (real runtime,
// real SDK clients, emulator, dynalite, real etcd), where each event is delivered alone so the
// counts are the event's own. Target ≤ 4 per event.
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { reconcile } from "../../lambdas/app/reconcile";
import { isRetryable } from "../../lambdas/errors";
import type { HookKind } from "../../lambdas/events/lifecycle-event";
import { ControlPlaneBed, settingsOf } from "../../test/helpers/control-plane";
import { eventually, publishedConfig, reportReady } from "../../test/helpers/control-plane-flows";
import { pickVictim } from "../leader";
import { type Check, type Figure, type Row, row } from "../report";
import { SETTLE_MS } from "../sim-flows";
import type { FigureContext } from "./context";

const MAX_CALLS = 4;
type Count = (kind: Kind, step: () => Promise<unknown>) => Promise<void>;

type Kind =
  | "launch (bootstrap)"
  | "ready (initial member)"
  | "terminate"
  | "launch (join)"
  | "ready (promote learner)"
  | "reconcile pass";

export async function apiCallsFigure(ctx: FigureContext): Promise<Figure> {
  const counts = new Map<Kind, Record<string, number>[]>();
  // A fresh bed per rep, so every rep counts what a fresh container calls (the Auto Scaling adapter
  // remembers instance IPs per container; a warm one skips DescribeInstances for known instances).
  for (let rep = 1; rep <= ctx.reps; rep++) {
    const { bed, stop } = await startBed();
    try {
      const count: Count = async (kind, step) => {
        bed.emulator.resetCallCounts();
        await step();
        counts.set(kind, [...(counts.get(kind) ?? []), bed.emulator.callCounts()]);
      };
      await bootstrap(bed, count);
      await replaceOne(bed, count);
      await count("reconcile pass", () => reconcile(bed.invocation()));
      ctx.progress(`api calls rep ${rep} done`);
    } finally {
      await stop();
    }
  }
  const rows: Row[] = [];
  const checks: Check[] = [];
  for (const [kind, samples] of counts) {
    const totals = samples.map((s) => Object.values(s).reduce((a, b) => a + b, 0));
    const r = row(kind, "calls", totals, `per action, worst sample: ${describe(worstOf(samples))}`);
    rows.push(r);
    // The target holds for every event, so the worst one is checked.
    const worst = Math.max(...totals);
    checks.push({
      label: `${kind}: worst of ${totals.length}`,
      value: worst,
      unit: "calls",
      target: `≤ ${MAX_CALLS}`,
      pass: worst <= MAX_CALLS,
    });
  }
  return {
    id: "api-calls",
    title: "6. AWS API calls per lifecycle event (Auto Scaling + EC2)",
    rows,
    checks,
  };
}

/** Forms the cluster as the boot scripts would, counting each launch event and ready call. */
async function bootstrap(bed: ControlPlaneBed, count: Count): Promise<void> {
  await eventually("launch events", () => (bed.eventsFor("launch").length >= 3 ? true : undefined));
  for (const event of bed.eventsFor("launch")) {
    await count("launch (bootstrap)", () => deliver(bed, "launch", event));
  }
  const initial = bed.instanceIds();
  for (const id of initial) await bed.startEtcd(id, settingsOf(await publishedConfig(bed, id)));
  for (const id of initial) await bed.waitEtcdHealthy(id);
  for (const id of initial) await count("ready (initial member)", () => reportReady(bed, id));
}

/**
 * Replaces a settled member's instance (the health check's way) and counts each event. A steady
 * cluster, as production sees it between changes: etcd's 5 s connection window has passed and the
 * member is not the leader, so no refusal or election makes the handlers look again.
 */
async function replaceOne(bed: ControlPlaneBed, count: Count): Promise<void> {
  await sleep(SETTLE_MS);
  const inService = new Set(bed.instanceIds("InService"));
  const members = (await bed.members()).filter((m) => inService.has(m.name));
  const { ca, cert = "", key = "" } = await bed.operator();
  const victim = (
    await pickVictim(
      members.map((m) => ({ name: m.name, clientUrl: m.clientUrls[0] ?? "" })),
      { ca, cert, key },
    )
  ).name;
  // Every instance seen so far: a terminated one leaves the group but keeps its old launch event.
  const known = new Set([...bed.instanceIds(), ...bed.events.map((e) => e.detail.EC2InstanceId)]);
  // The health check's replacement: terminate and launch at once, as after a failed instance.
  bed.group.markUnhealthy(victim);
  const terminate = await eventually("the terminate event", () => bed.eventsFor("terminate", victim)[0]);
  await count("terminate", () => deliver(bed, "terminate", terminate));
  await bed.killEtcd(victim);
  const launch = await eventually("the replacement's launch event", () =>
    bed.eventsFor("launch").find((e) => !known.has(e.detail.EC2InstanceId)),
  );
  const id = launch.detail.EC2InstanceId;
  await count("launch (join)", () => deliver(bed, "launch", launch));
  await bed.startEtcd(id, settingsOf(await publishedConfig(bed, id)));
  await bed.waitEtcdHealthy(id);
  await count("ready (promote learner)", () => reportReady(bed, id));
}

/** Delivers like EventBridge and Lambda's async retries: again after a second while it throws a
 * retryable error. The calls of every attempt count. */
async function deliver(bed: ControlPlaneBed, kind: HookKind, event: unknown): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await bed.deliver(kind, event);
      return;
    } catch (error) {
      if (!isRetryable(error) || attempt >= 3) throw error;
      await sleep(1000);
    }
  }
}

/** The bed registers its teardown with a test's `after`; outside node:test the bench runs it. */
async function startBed(): Promise<{ bed: ControlPlaneBed; stop: () => Promise<void> }> {
  // The runtime's logger reads its level from the process environment: keep the table readable.
  process.env.POWERTOOLS_LOG_LEVEL = "WARN";
  const teardowns: (() => Promise<void> | void)[] = [];
  const context = { passed: true, after: (fn: () => Promise<void> | void) => teardowns.push(fn) };
  const bed = await ControlPlaneBed.start(context as unknown as TestContext, {
    clusterSize: 3,
    env: { INSTANCE_ROLE_ARN: "arn:aws:iam::123456789012:role/etcd-node" },
  });
  return {
    bed,
    stop: async () => {
      for (const fn of teardowns.reverse()) await fn();
    },
  };
}

function worstOf(samples: readonly Record<string, number>[]): Record<string, number> {
  const total = (s: Record<string, number>) => Object.values(s).reduce((a, b) => a + b, 0);
  return samples.reduce((worst, s) => (total(s) > total(worst) ? s : worst), {});
}

function describe(calls: Record<string, number>): string {
  return (
    Object.entries(calls)
      .map(([action, n]) => `${action} ${n}`)
      .join(", ") || "none"
  );
}
