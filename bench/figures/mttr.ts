// Figure 7: time to repair an etcd that dies for good on a live instance (issue 16): its etcd is
// killed and its unit does not restart it, while the instance stays InService and healthy to EC2.
// etcd-asg's reconciler notices the silent member, waits out the grace period, sets the instance
// Unhealthy, and the group replaces it through the hooks. Shown in two parts: detection (kill →
// instance set Unhealthy), which the grace period and the reconcile schedule bound, and replacement
// (Unhealthy → the new member a healthy voter and the group converged), against the floor: an
// operator with a perfect detector who acts exactly at the grace period, then replaces by hand
// (member remove, member add --learner, start, member promote).
import type { Simulator } from "../../local/simulator/simulator";
import { staticBootstrap } from "../floor/flows";
import { pickVictim } from "../leader";
import { now, pollUntil, since } from "../measure";
import { describePhases, mark, type Phases, phasesSince } from "../phases";
import { type Check, type Figure, format, ratioCheck, row } from "../report";
import { members, settle, startSimulator, waitConverged } from "../sim-flows";
import type { FigureContext } from "./context";
import { withFloorAndSimulator } from "./floor-and-simulator";
import { floorReplace } from "./replace";

/**
 * The simulator's compressed health timers, in the stack's proportions (grace 180 s, a reconcile
 * pass every 60 s): grace 15 s, a pass every 5 s. The warm-up (stack: 300 s) is cut to 5 s so that
 * the previous repetition's replacement, which may be the next victim, is judged again by then.
 */
const GRACE_MS = 15_000;
const PERIOD_MS = 5000;
const WARMUP_MS = 5000;
/** Detection waits for the grace period and at most two passes (one starts the silence, one past the
 * grace marks it), plus the time a pass takes. */
const DETECTION_TIMEOUT_MS = GRACE_MS + 4 * PERIOD_MS;

interface Repair {
  readonly detectionMs: number;
  readonly replacementMs: number;
  readonly phases: Phases;
}

export function mttrFigure(ctx: FigureContext): Promise<Figure> {
  const start = () =>
    startSimulator(3, 0, {
      healthGraceSeconds: GRACE_MS / 1000,
      healthWarmupSeconds: WARMUP_MS / 1000,
      reconcileIntervalMs: PERIOD_MS,
    });
  return withFloorAndSimulator(start, async (bed, sim) => {
    const { cluster } = await staticBootstrap(bed, 3);
    let lastChange = now();
    const floor: number[] = [];
    const repairs: Repair[] = [];
    for (let rep = 1; rep <= ctx.reps; rep++) {
      await settle(lastChange);
      floor.push(await floorReplace(bed, cluster));
      const repair = await simDeadForGood(sim);
      repairs.push(repair);
      lastChange = now();
      ctx.progress(
        `mttr rep ${rep}: detection ${Math.round(repair.detectionMs)} ms, replacement ${Math.round(repair.replacementMs)} ms, ` +
          `floor replacement ${Math.round(floor.at(-1) ?? 0)} ms`,
      );
    }
    const detection = row(
      `etcd-asg: detection (kill → instance set Unhealthy; grace ${format(GRACE_MS, "ms")}, a pass every ${format(PERIOD_MS, "ms")})`,
      "ms",
      repairs.map((r) => r.detectionMs),
    );
    const replacement = row(
      "etcd-asg: replacement (Unhealthy → new member a healthy voter, group converged)",
      "ms",
      repairs.map((r) => r.replacementMs),
      describePhases(repairs.map((r) => r.phases)),
    );
    const total = row(
      "etcd-asg: time to repair (detection + replacement)",
      "ms",
      repairs.map((r) => r.detectionMs + r.replacementMs),
    );
    const floorReplacement = row("floor: manual remove + add learner + start + promote", "ms", floor);
    const floorTotal = row(
      "floor: time to repair (a perfect detector acting at the grace period, then the manual replacement)",
      "ms",
      floor.map((ms) => GRACE_MS + ms),
    );
    const overshoot = detection.median - GRACE_MS;
    const checks: Check[] = [
      {
        label: "detection past the grace period",
        value: overshoot,
        unit: "ms",
        target: `≤ ${format(2 * PERIOD_MS, "ms")} (two reconcile passes)`,
        pass: overshoot <= 2 * PERIOD_MS,
      },
      ratioCheck("replacement / floor replacement", replacement, floorReplacement, 1.5),
    ];
    return {
      id: "mttr",
      title: "7. Time to repair an etcd dead for good on a live instance (InService, healthy to EC2)",
      rows: [detection, replacement, total, floorReplacement, floorTotal],
      checks,
      notes: [
        `time to repair / floor's: ${format(total.median / floorTotal.median, "×")} (not checked: both are mostly the grace period)`,
        "detection: the first reconcile pass after the kill records the member silent, the first pass past the grace " +
          "period sets the instance Unhealthy, so detection falls between the grace period and two passes past it. " +
          "With the stack's timers (grace 180 s, a pass every 60 s): 180–300 s.",
        "replacement: from the instance set Unhealthy, the group terminates it (terminate hook: member removed) and " +
          "launches a replacement (launch hook, boot script, learner, promote), as in figure 3.",
      ],
    };
  });
}

/** A follower's etcd killed for good: ms until its instance is set Unhealthy, then until converged. */
async function simDeadForGood(sim: Simulator): Promise<Repair> {
  const victim = await pickVictim(members(sim), await sim.etcdTls());
  const marked = mark(sim, `etcd of ${victim.name} killed for good`);
  const start = now();
  if (!sim.node(victim.name).killEtcdForGood()) throw new Error(`${victim.name} had no etcd to kill`);
  await pollUntil(
    `${victim.name} set Unhealthy by the reconciler`,
    () => !sim.instances().some((i) => i.id === victim.name && i.healthStatus === "Healthy"),
    DETECTION_TIMEOUT_MS,
  );
  const detectionMs = since(start);
  const replacing = now();
  await waitConverged(sim, `replacement of ${victim.name}, whose etcd died`);
  return { detectionMs, replacementMs: since(replacing), phases: phasesSince(sim, marked) };
}
