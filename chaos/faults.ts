// Arms an episode's faults on a running simulator and counts every fault actually injected, by
// kind. Each decision (an event's fate, an API call's fault) comes from a stream derived from the
// seed, the episode and the ordinal of that event or call, so the same seed injects the same
// faults in the same places as far as the real processes keep the same order.
import type { ApiCall, InjectedFault } from "../local/aws/emulator";
import type { LifecycleEvent } from "../local/aws/types";
import type { DeliveryPlan } from "../local/simulator/event-delivery";
import type { Simulator } from "../local/simulator/simulator";
import { CONTROL_PLANE_FAULT_KINDS, HUNG_FUNCTION } from "./control-plane-episodes";
import { NETWORK_FAULT_KINDS } from "./network-episodes";
import { Prng } from "./prng";
import type { Episode } from "./schedule";

export const FAULT_KINDS = [
  "scale-out",
  "scale-in",
  "kill-9",
  "freeze",
  "parallel-terminate-launch",
  "instance-refresh",
  "hook-timeout",
  "event-duplicated",
  "event-delayed",
  "event-lost",
  "aws-throttling",
  "aws-5xx",
  "lambda-crash",
  "ledger-race",
  ...NETWORK_FAULT_KINDS,
  ...CONTROL_PLANE_FAULT_KINDS,
  "disk-full",
  "majority-lost",
] as const;

/** The Auto Scaling calls by which the control plane takes an instance out of the group. */
const REMOVING_ACTIONS = ["SetInstanceHealth", "TerminateInstanceInAutoScalingGroup"];

export type FaultKind = (typeof FAULT_KINDS)[number];
export type FaultCounts = Record<FaultKind, number>;

export function noFaults(): FaultCounts {
  return Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as FaultCounts;
}

/** Which function completes a lifecycle action with CONTINUE after its etcd change: the node API
 * after promoting the learner (node-ready), the terminate hook after removing the member. */
function completer(sim: Simulator, hookName: string): string | undefined {
  if (hookName === sim.hookName("launch")) return "node-api";
  if (hookName === sim.hookName("terminate")) return "terminate-hook";
  return undefined;
}

export class FaultInjection {
  readonly counts = noFaults();
  private losingTerminates = false;
  private removals: string[] | undefined;
  private hangPending = false;
  /** True once a lambda-timeout episode hung its function. */
  hung = false;

  constructor(
    private readonly sim: Simulator,
    private readonly seed: number,
  ) {}

  count(kind: FaultKind, by = 1): void {
    this.counts[kind] += by;
  }

  /** Applies `episode`'s event and API faults from now on. */
  arm(episode: Episode, index: number): void {
    const ordinals = new Map<string, number>();
    const next = (key: string) => {
      const n = (ordinals.get(key) ?? 0) + 1;
      ordinals.set(key, n);
      return n;
    };
    this.hangPending = episode.kind === "lambda-timeout";
    this.hung = false;
    this.sim.events.injectFaults((event) => this.planEvent(event, episode, index, next));
    this.sim.emulator.injectFaults((call) => this.faultCall(call, episode, index, next));
  }

  /** Loses every terminate event while on (a hook left to time out); no other event is lost then,
   * since the reconciler that would repair it is paused. */
  loseTerminates(on: boolean): void {
    this.losingTerminates = on;
  }

  /** Records the control plane's calls that take an instance out of the group from now on. */
  watchRemovals(): void {
    this.removals = [];
  }

  /** The calls recorded since `watchRemovals()`, which stops recording. */
  takeRemovals(): string[] {
    const calls = this.removals ?? [];
    this.removals = undefined;
    return calls;
  }

  disarm(): void {
    this.sim.events.injectFaults(undefined);
    this.sim.emulator.injectFaults(undefined);
  }

  private planEvent(
    event: LifecycleEvent,
    episode: Episode,
    index: number,
    next: (key: string) => number,
  ): DeliveryPlan | undefined {
    const type = event["detail-type"];
    const ordinal = next(`event:${type}`);
    const all = next("event");
    if (this.losingTerminates && type === "EC2 Instance-terminate Lifecycle Action") {
      this.count("event-lost");
      return { drop: true };
    }
    const prng = Prng.derive(this.seed, `episode ${index}:${type}:${ordinal}`);
    const { duplicate, delay, drop } = episode.events;
    const plan = {
      drop: prng.chance(drop) && !this.losingTerminates,
      copies: prng.chance(duplicate) ? prng.int(2, 3) : 1,
      delayMs: prng.chance(delay) ? prng.int(500, 4000) : 0,
    };
    if (episode.raceAtEvent === all) {
      // The event's function and an on-demand reconcile pass start at once and contend for the
      // ledger's lock with conditional writes; a copy makes the event's own function go twice.
      this.count("ledger-race");
      void this.sim.reconcile().catch(() => undefined);
      return { copies: 2, delayMs: 0 };
    }
    if (plan.drop) {
      this.count("event-lost");
      return { drop: true };
    }
    if (plan.copies > 1) this.count("event-duplicated");
    if (plan.delayMs > 0) this.count("event-delayed");
    return { copies: plan.copies, delayMs: plan.delayMs };
  }

  private faultCall(
    call: ApiCall,
    episode: Episode,
    index: number,
    next: (key: string) => number,
  ): InjectedFault | undefined {
    if (this.removals !== undefined && REMOVING_ACTIONS.includes(call.action)) {
      this.removals.push(`${call.action} ${call.params.get("InstanceId") ?? "?"}`);
    }
    const completing =
      call.action === "CompleteLifecycleAction" && call.params.get("LifecycleActionResult") === "CONTINUE";
    if (
      completing &&
      this.hangPending &&
      call.params.get("LifecycleHookName") === this.sim.hookName("launch")
    ) {
      // The learner is promoted; the function hangs on this call until Lambda kills it at its timeout.
      // A completion another function makes (the launch hook's) finds no invocation of it running:
      // nothing hangs, and a later completion is waited for (seed 14013).
      this.hung = this.sim.fn(HUNG_FUNCTION).hang() > 0;
      if (this.hung) {
        this.hangPending = false;
        return "server-error";
      }
    }
    if (completing && next("completion") === episode.crashAtCompletion) {
      // The etcd change this completion follows is made; the function dies before completing.
      const fn = completer(this.sim, call.params.get("LifecycleHookName") ?? "");
      const crashed = fn !== undefined && this.sim.fn(fn).crash() > 0;
      this.count(crashed ? "lambda-crash" : "aws-5xx");
      return "server-error";
    }
    const prng = Prng.derive(this.seed, `episode ${index}:aws:${call.action}:${next(`call:${call.action}`)}`);
    if (prng.chance(episode.aws.throttling)) {
      this.count("aws-throttling");
      return "throttling";
    }
    if (prng.chance(episode.aws.serverError)) {
      this.count("aws-5xx");
      return "server-error";
    }
    return undefined;
  }
}
