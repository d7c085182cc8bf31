// Instance refresh of one emulated Auto Scaling group (StartInstanceRefresh, DescribeInstanceRefreshes,
// CancelInstanceRefresh, RollbackInstanceRefresh) with AWS's rolling strategy. The instances to
// replace are the group's at the start — with SkipMatching, only those not already on the target
// launch template version (the desired configuration, else the group's) — oldest first, in batches
// sized by the healthy percentages of the desired capacity, at least one instance per batch.
// MinHealthyPercentage (default 90) is what stays InService; MaxHealthyPercentage above 100 (default
// 100) lets a batch launch its replacements before the old instances terminate. The next batch starts
// once the batch's old instances are gone and every instance is InService and warmed up
// (InstanceWarmup after it went InService), and, at a checkpoint, once CheckpointDelay has passed.
// Every launch and termination goes through the lifecycle hooks as any other does; while a refresh
// with a desired configuration runs, every launch uses that configuration, and the group takes it
// when the refresh succeeds.
// The refresh fails when the launch of one of its replacements is abandoned (its instance failed to
// become healthy: the emulator fails at the first, where AWS may retry a few) or when alarm() says a
// CloudWatch alarm of its AlarmSpecification went off. With AutoRollback — or on
// RollbackInstanceRefresh — it then rolls back: the batch under way stops, and the instances launched
// from the desired configuration are replaced, in the same batches, from the configuration the group
// had at the start.
import { randomUUID } from "node:crypto";
import { AwsApiError } from "./api-error";
import type { Clock } from "./clock";
import { type LaunchTemplates, versionNumber } from "./launch-templates";
import type { EmulatedInstance, LaunchTemplateSpecification } from "./types";

export type InstanceRefreshStatus =
  | "Pending"
  | "InProgress"
  | "Successful"
  | "Failed"
  | "Cancelling"
  | "Cancelled"
  | "RollbackInProgress"
  | "RollbackFailed"
  | "RollbackSuccessful";

export interface RefreshPreferences {
  /** @default 90 */
  readonly minHealthyPercentage: number;
  /** Above 100: launch before terminate. @default 100 */
  readonly maxHealthyPercentage: number;
  /** How long a new instance warms up after it went InService. */
  readonly instanceWarmupSeconds: number;
  /** Instances already on the target launch template version are not replaced. @default false */
  readonly skipMatching: boolean;
  /** Roll back when the refresh fails. Undefined when not given (AWS's default: false). */
  readonly autoRollback: boolean | undefined;
  /** Percentages of the instances to replace at which the refresh pauses; the last is 100. */
  readonly checkpointPercentages: readonly number[] | undefined;
  /** How long each checkpoint pauses. @default 3600 when checkpoints are given */
  readonly checkpointDelaySeconds: number | undefined;
}

/** What StartInstanceRefresh passes; the warmup default is the group's, so the caller resolves it. */
export type StartPreferences = Partial<RefreshPreferences> &
  Pick<RefreshPreferences, "instanceWarmupSeconds">;

export interface StartRefresh {
  readonly preferences: StartPreferences;
  /** The launch template version to move to (DesiredConfiguration), as the caller named it. */
  readonly desiredConfiguration?: LaunchTemplateSpecification | undefined;
}

export interface RollbackDetails {
  readonly reason: string;
  readonly startTime: number;
  readonly percentageCompleteOnRollback: number;
  readonly instancesToUpdateOnRollback: number;
}

export interface InstanceRefreshView {
  readonly id: string;
  readonly status: InstanceRefreshStatus;
  readonly statusReason: string | undefined;
  readonly startTime: number;
  readonly endTime: number | undefined;
  /** Goes back down to 0 while a rollback replaces what the refresh deployed, as AWS reports it. */
  readonly percentageComplete: number;
  /** Frozen when a rollback starts: the instances the refresh never reached need no rollback. */
  readonly instancesToUpdate: number;
  readonly preferences: RefreshPreferences;
  readonly desiredConfiguration: LaunchTemplateSpecification | undefined;
  readonly rollbackDetails: RollbackDetails | undefined;
}

/** What a refresh needs from its group. */
export interface RefreshedGroup {
  readonly name: string;
  readonly desiredCapacity: number;
  /** The group's launch template version, as it was given. */
  readonly launchTemplate: LaunchTemplateSpecification | undefined;
  instances(): EmulatedInstance[];
  /** Terminate and launch: the group launches a replacement at once. */
  terminateInstance(instanceId: string, decrementDesiredCapacity: false): unknown;
  /** Launch before terminate: the instance goes once a replacement is InService. */
  replaceInstance(instanceId: string): void;
  /** The instance stays after all: its replacement's launch was abandoned. */
  cancelReplacement(instanceId: string): void;
  /** The group takes the desired configuration once the refresh succeeds. */
  setLaunchTemplate(specification: LaunchTemplateSpecification): void;
}

const ACTIVE: readonly InstanceRefreshStatus[] = [
  "Pending",
  "InProgress",
  "Cancelling",
  "RollbackInProgress",
];
const FINISHED: readonly InstanceRefreshStatus[] = [
  "Successful",
  "Failed",
  "Cancelled",
  "RollbackFailed",
  "RollbackSuccessful",
];

/** The refreshes of one group: at most one active at a time, the others kept for Describe. */
export class InstanceRefreshes {
  private readonly all: InstanceRefresh[] = [];

  constructor(
    private readonly group: RefreshedGroup,
    private readonly clock: Clock,
    private readonly launchTemplates: LaunchTemplates,
  ) {}

  /** StartInstanceRefresh: fills in the defaults and validates as AWS does. */
  start(request: StartRefresh): string {
    if (this.active()) {
      throw new AwsApiError(
        "InstanceRefreshInProgress",
        "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.",
      );
    }
    const { preferences } = request;
    if (preferences.maxHealthyPercentage !== undefined && preferences.minHealthyPercentage === undefined) {
      throw new AwsApiError(
        "ValidationError",
        "MinHealthyPercentage must be specified when MaxHealthyPercentage is specified",
      );
    }
    const checkpoints = preferences.checkpointPercentages;
    const resolved: RefreshPreferences = {
      minHealthyPercentage: preferences.minHealthyPercentage ?? 90,
      maxHealthyPercentage: preferences.maxHealthyPercentage ?? 100,
      instanceWarmupSeconds: preferences.instanceWarmupSeconds,
      skipMatching: preferences.skipMatching ?? false,
      autoRollback: preferences.autoRollback,
      checkpointPercentages: checkpoints,
      checkpointDelaySeconds:
        preferences.checkpointDelaySeconds ?? (checkpoints === undefined ? undefined : 3600),
    };
    validate(resolved, preferences);
    const desired = request.desiredConfiguration;
    if (desired !== undefined) this.launchTemplates.resolve(desired);
    if (resolved.autoRollback === true) this.requireReversible(desired, "AutoRollback");
    const refresh = new InstanceRefresh(this.group, this.clock, this.launchTemplates, resolved, desired);
    this.all.unshift(refresh);
    return refresh.id;
  }

  /** Newest first, as DescribeInstanceRefreshes lists them. */
  describe(ids: readonly string[] = []): InstanceRefreshView[] {
    return this.all.filter((refresh) => ids.length === 0 || ids.includes(refresh.id)).map((r) => r.view());
  }

  /** CancelInstanceRefresh: no new batch starts; the one under way finishes first. */
  cancel(): string {
    const refresh = this.requireActive();
    refresh.cancel();
    return refresh.id;
  }

  /** RollbackInstanceRefresh: stop, and replace what the refresh deployed from the previous
   * configuration. */
  rollback(): string {
    const refresh = this.requireActive();
    if (refresh.status === "RollbackInProgress") {
      throw new AwsApiError(
        "ActiveInstanceRefreshNotFound",
        `No in progress or pending Instance Refresh found for Auto Scaling group ${this.group.name}`,
      );
    }
    this.requireReversible(refresh.desired, "RollbackInstanceRefresh");
    refresh.rollBack("A manual rollback was requested (RollbackInstanceRefresh).");
    return refresh.id;
  }

  /** A CloudWatch alarm of the active refresh's AlarmSpecification went into ALARM: it fails (and
   * rolls back with AutoRollback). How a deploy's bound or the control plane's "roll stalled" alarm
   * stops a refresh. */
  alarm(reason: string): string {
    const refresh = this.requireActive();
    refresh.fail(`An alarm went into ALARM: ${reason}`);
    return refresh.id;
  }

  /**
   * A launch was abandoned (called before the group terminates the instance and launches another):
   * an active refresh fails, or rolls back, at once, so that whatever launches in its place comes from
   * the configuration the refresh now wants.
   */
  launchAbandoned(instanceId: string): void {
    this.active()?.launchAbandoned(instanceId);
  }

  /** Resolves once the refresh has ended, with how it ended. */
  whenEnded(id: string): Promise<InstanceRefreshView> {
    const refresh = this.all.find((r) => r.id === id);
    if (refresh === undefined) return Promise.reject(new Error(`no instance refresh ${id}`));
    return refresh.ended;
  }

  /** The launch template version launches use while a refresh runs; undefined: the group's. */
  launchTemplateForLaunches(): LaunchTemplateSpecification | undefined {
    return this.active()?.launchTemplateForLaunches();
  }

  /** The group changed (an instance went InService or left): the active refresh looks again. */
  groupChanged(): void {
    this.active()?.schedule();
  }

  stop(): void {
    for (const refresh of this.all) refresh.stop();
  }

  private active(): InstanceRefresh | undefined {
    return this.all.find((refresh) => ACTIVE.includes(refresh.status));
  }

  private requireActive(): InstanceRefresh {
    const refresh = this.active();
    if (!refresh) {
      throw new AwsApiError(
        "ActiveInstanceRefreshNotFound",
        `No in progress or pending Instance Refresh found for Auto Scaling group ${this.group.name}`,
      );
    }
    return refresh;
  }

  /** AWS rolls back only to a known, numbered version whose image is an AMI ID. */
  private requireReversible(desired: LaunchTemplateSpecification | undefined, what: string): void {
    const current = this.group.launchTemplate;
    const problem =
      desired === undefined
        ? "no desired configuration was specified for the instance refresh"
        : current === undefined
          ? "the Auto Scaling group has no launch template to go back to"
          : versionNumber(current.version) === undefined
            ? `the Auto Scaling group uses the launch template's ${current.version} version`
            : String(this.launchTemplates.resolve(current).data.ImageId ?? "").startsWith("resolve:ssm:")
              ? "the Auto Scaling group's launch template uses a Systems Manager parameter instead of an AMI ID"
              : undefined;
    if (problem === undefined) return;
    const message = `${what} is not possible: ${problem}.`;
    // StartInstanceRefresh refuses the preference; RollbackInstanceRefresh has its own fault.
    throw what === "AutoRollback"
      ? new AwsApiError("ValidationError", message)
      : new AwsApiError("IrreversibleInstanceRefresh", message);
  }
}

function validate(preferences: RefreshPreferences, given: StartPreferences) {
  const {
    minHealthyPercentage: min,
    maxHealthyPercentage: max,
    instanceWarmupSeconds,
    checkpointPercentages: checkpoints,
    checkpointDelaySeconds: delay,
  } = preferences;
  const problem = !(min >= 0 && min <= 100)
    ? `MinHealthyPercentage must be between 0 and 100, got ${min}`
    : !(max >= 100 && max <= 200)
      ? `MaxHealthyPercentage must be between 100 and 200, got ${max}`
      : max - min > 100
        ? `The difference between MaxHealthyPercentage (${max}) and MinHealthyPercentage (${min}) cannot be greater than 100`
        : // Left out, MaxHealthyPercentage lets a batch of one terminate and launch at once.
          min === 100 && given.maxHealthyPercentage === 100
          ? "MinHealthyPercentage and MaxHealthyPercentage cannot both be 100: no instance could be replaced"
          : !(instanceWarmupSeconds >= 0)
            ? `InstanceWarmup must be 0 or more, got ${instanceWarmupSeconds}`
            : given.checkpointDelaySeconds !== undefined && checkpoints === undefined
              ? "CheckpointDelay requires CheckpointPercentages"
              : checkpointProblem(checkpoints, delay);
  if (problem !== undefined) throw new AwsApiError("ValidationError", problem);
}

function checkpointProblem(
  checkpoints: readonly number[] | undefined,
  delay: number | undefined,
): string | undefined {
  if (checkpoints === undefined) return undefined;
  if (checkpoints.length === 0) return "CheckpointPercentages must not be empty";
  const bad = checkpoints.find(
    (p, i) => !(Number.isInteger(p) && p >= 1 && p <= 100) || p <= (checkpoints[i - 1] ?? 0),
  );
  if (bad !== undefined) {
    return `CheckpointPercentages must be unique whole percentages from 1 to 100 in ascending order, got [${checkpoints.join(", ")}]`;
  }
  if (checkpoints.at(-1) !== 100) {
    // AWS then stops after the last checkpoint with part of the group replaced; not emulated.
    return `This emulator needs the last of CheckpointPercentages to be 100 (a partial refresh is not emulated), got [${checkpoints.join(", ")}]`;
  }
  if (delay !== undefined && !(Number.isInteger(delay) && delay >= 0 && delay <= 172800)) {
    return `CheckpointDelay must be from 0 to 172800 seconds, got ${delay}`;
  }
  return undefined;
}

/** One pass over the group: forward to the target, or the rollback to the previous configuration. */
interface Phase {
  readonly kind: "forward" | "rollback";
  /** What the instances move to; undefined: the group's launch template (or none). */
  readonly target: LaunchTemplateSpecification | undefined;
  /** The instances to replace, oldest first; a rollback decides once its group has settled. */
  toReplace: readonly string[] | undefined;
  /** Instances replaced by a finished batch (or gone by other means). */
  readonly updated: Set<string>;
  /** Old instances of the batch under way. */
  readonly batch: Set<string>;
  /** Those of the batch that wait for a replacement launched first (launch before terminate). */
  readonly replacing: Set<string>;
  /** The group's instances when the phase began: none of them is one of its replacements. */
  readonly before: ReadonlySet<string>;
}

class InstanceRefresh {
  readonly id = randomUUID();
  status: InstanceRefreshStatus = "Pending";
  readonly ended: Promise<InstanceRefreshView>;
  private resolveEnded: (view: InstanceRefreshView) => void = () => {};
  private statusReason: string | undefined;
  private readonly startTime: number;
  private endTime: number | undefined;
  /** The group's launch template at the start: what a rollback returns to. */
  private readonly previous: LaunchTemplateSpecification | undefined;
  private phase: Phase;
  /** How many of the forward phase's instances there were to replace. */
  private readonly total: number;
  private rollbackDetails: RollbackDetails | undefined;
  /** The highest checkpoint reached so far, and when its pause ends. */
  private checkpointReached = 0;
  private pausedUntil: number | undefined;
  /** When each instance was first seen InService (warmup counts from there). */
  private readonly inServiceSince = new Map<string, number>();
  /** The group's instances at the start: they need no warmup. */
  private readonly existing: ReadonlySet<string>;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly group: RefreshedGroup,
    private readonly clock: Clock,
    private readonly launchTemplates: LaunchTemplates,
    readonly preferences: RefreshPreferences,
    readonly desired: LaunchTemplateSpecification | undefined,
  ) {
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
    this.startTime = clock.now();
    this.previous = group.launchTemplate;
    this.existing = new Set(group.instances().map((i) => i.id));
    const target = desired ?? group.launchTemplate;
    const instances = group
      .instances()
      .filter((i) => !i.lifecycleState.startsWith("Terminat"))
      .filter((i) => !(preferences.skipMatching && this.matches(i, target)));
    const toReplace = instances.sort((a, b) => a.launchTime - b.launchTime).map((i) => i.id);
    this.total = toReplace.length;
    this.phase = this.newPhase("forward", desired, toReplace);
    // The first look happens a moment later, so a Describe right after the start sees Pending.
    this.schedule();
  }

  view(): InstanceRefreshView {
    const { phase, rollbackDetails: rollback } = this;
    return {
      id: this.id,
      status: this.status,
      statusReason: this.statusReason,
      startTime: this.startTime,
      endTime: this.endTime,
      percentageComplete: rollback === undefined ? this.percentage() : rolledBackPercentage(phase, rollback),
      instancesToUpdate:
        rollback === undefined ? this.total - phase.updated.size : rollback.instancesToUpdateOnRollback,
      preferences: this.preferences,
      desiredConfiguration: this.desired,
      rollbackDetails: rollback,
    };
  }

  /** Of the forward phase. */
  private percentage(): number {
    return this.total === 0 ? 100 : Math.floor((this.phase.updated.size * 100) / this.total);
  }

  launchTemplateForLaunches(): LaunchTemplateSpecification | undefined {
    return this.phase.kind === "rollback" ? this.previous : this.desired;
  }

  cancel(): void {
    this.status = "Cancelling";
    this.statusReason = "Cancelling: the batch under way finishes, no new one starts.";
    this.pausedUntil = undefined;
    this.schedule();
  }

  /** Fails now; with AutoRollback, rolls back instead. A batch's launches under way still finish. */
  fail(reason: string): void {
    if (this.phase.kind === "forward" && this.preferences.autoRollback === true) {
      this.rollBack(`${reason} AutoRollback: rolling back.`);
      return;
    }
    this.end(this.phase.kind === "rollback" ? "RollbackFailed" : "Failed", reason);
  }

  /** A launch was abandoned: a new instance failed to become healthy, and the refresh fails. */
  launchAbandoned(instanceId: string): void {
    const { phase } = this;
    // Only a launch of this phase counts: a rollback is not failed by a launch of the refresh it undoes.
    if (phase.before.has(instanceId)) return;
    // The old instance this launch was to replace stays; the group is about to terminate the
    // abandoned one, which settles its capacity.
    const [waiting] = [...phase.replacing].filter((id) => this.group.instances().some((i) => i.id === id));
    if (waiting !== undefined) {
      this.group.cancelReplacement(waiting);
      phase.replacing.delete(waiting);
      phase.batch.delete(waiting);
    }
    this.fail(`The launch of replacement instance ${instanceId} was abandoned.`);
  }

  rollBack(reason: string): void {
    const view = this.view();
    this.rollbackDetails = {
      reason,
      startTime: this.clock.now(),
      percentageCompleteOnRollback: view.percentageComplete,
      instancesToUpdateOnRollback: view.instancesToUpdate,
    };
    this.status = "RollbackInProgress";
    this.statusReason = reason;
    this.pausedUntil = undefined;
    this.phase = this.newPhase("rollback", this.previous, undefined);
    this.schedule();
  }

  schedule(): void {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = this.clock.setTimer(() => this.step(), 0);
  }

  stop(): void {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private newPhase(
    kind: Phase["kind"],
    target: LaunchTemplateSpecification | undefined,
    toReplace: readonly string[] | undefined,
  ): Phase {
    return {
      kind,
      target,
      toReplace,
      updated: new Set(),
      batch: new Set(),
      replacing: new Set(),
      before: new Set(this.group.instances().map((i) => i.id)),
    };
  }

  private step(): void {
    this.timer = undefined;
    if (!ACTIVE.includes(this.status)) return;
    if (this.status === "Pending") this.status = "InProgress";
    const now = this.clock.now();
    if (this.pausedUntil !== undefined && now < this.pausedUntil) {
      this.timer = this.clock.setTimer(() => this.step(), this.pausedUntil - now);
      return;
    }
    this.pausedUntil = undefined;
    const instances = this.group.instances();
    for (const instance of instances) {
      if (instance.lifecycleState === "InService" && !this.inServiceSince.has(instance.id)) {
        this.inServiceSince.set(instance.id, now);
      }
    }
    const { phase } = this;
    const present = new Set(instances.map((i) => i.id));
    // An instance that left by other means (scale-in, health replacement) needs no update.
    for (const id of phase.toReplace ?? []) {
      if (!present.has(id) && !phase.batch.has(id)) phase.updated.add(id);
    }
    const waitingFor = this.unsettled(instances, now);
    if (waitingFor !== undefined) {
      this.statusReason = waitingFor.reason;
      if (waitingFor.retryInMs !== undefined) {
        this.timer = this.clock.setTimer(() => this.step(), waitingFor.retryInMs);
      }
      return;
    }
    for (const id of phase.batch) phase.updated.add(id);
    phase.batch.clear();
    phase.replacing.clear();
    if (this.status === "Cancelling") {
      this.end("Cancelled", "The instance refresh was cancelled.");
      return;
    }
    // A rollback replaces what the refresh deployed: every instance not on the previous version.
    phase.toReplace ??= instances
      .filter((i) => !this.matches(i, phase.target))
      .sort((a, b) => a.launchTime - b.launchTime)
      .map((i) => i.id);
    if (this.checkpoint(now)) return;
    const remaining = phase.toReplace.filter((id) => !phase.updated.has(id));
    if (remaining.length === 0) {
      if (phase.kind === "rollback") {
        this.end("RollbackSuccessful", this.rollbackDetails?.reason);
        return;
      }
      if (this.desired !== undefined) this.group.setLaunchTemplate(this.desired);
      this.end("Successful", undefined);
      return;
    }
    this.startBatch(remaining);
  }

  /** Pauses at a checkpoint just reached (before 100 %); true while paused. */
  private checkpoint(now: number): boolean {
    const { checkpointPercentages: checkpoints, checkpointDelaySeconds } = this.preferences;
    if (checkpoints === undefined || this.phase.kind !== "forward" || this.total === 0) return false;
    const percentage = this.percentage();
    // Several checkpoints passed at once count as the highest (AWS skips the others).
    const reached = checkpoints.filter((p) => p > this.checkpointReached && p <= percentage).at(-1);
    if (reached === undefined || reached >= 100) return false;
    this.checkpointReached = reached;
    const delayMs = (checkpointDelaySeconds ?? 3600) * 1000;
    this.pausedUntil = now + delayMs;
    this.statusReason = `Checkpoint ${reached}% reached: waiting ${checkpointDelaySeconds ?? 3600} s before continuing.`;
    this.timer = this.clock.setTimer(() => this.step(), delayMs);
    return true;
  }

  /** Why the next batch cannot start yet (and when to look again for a warmup), or undefined. */
  private unsettled(
    instances: readonly EmulatedInstance[],
    now: number,
  ): { reason: string; retryInMs?: number } | undefined {
    const { phase } = this;
    const leaving = [...phase.batch].find((id) => instances.some((i) => i.id === id));
    if (leaving !== undefined) return { reason: `Waiting for ${leaving} to be replaced and terminated.` };
    const pending = instances.find((i) => i.lifecycleState !== "InService");
    if (pending !== undefined) {
      return {
        reason: `Waiting for remaining instances to be available. For example: ${pending.id} is ${pending.lifecycleState}.`,
      };
    }
    const warmupMs = this.preferences.instanceWarmupSeconds * 1000;
    let warming: { id: string; remainingMs: number } | undefined;
    for (const { id } of instances) {
      const since = this.inServiceSince.get(id);
      if (since === undefined || this.existing.has(id)) continue;
      const remainingMs = since + warmupMs - now;
      if (remainingMs > 0 && (warming === undefined || remainingMs > warming.remainingMs)) {
        warming = { id, remainingMs };
      }
    }
    if (warming === undefined) return undefined;
    return {
      reason: `Waiting for instances to warm up before continuing. For example: ${warming.id} is warming up.`,
      retryInMs: warming.remainingMs,
    };
  }

  /** Sizes the batch by the healthy percentages (and the next checkpoint) and starts its replacements. */
  private startBatch(remaining: readonly string[]): void {
    const { minHealthyPercentage, maxHealthyPercentage, checkpointPercentages } = this.preferences;
    const desired = this.group.desiredCapacity;
    const minHealthy = Math.ceil((desired * minHealthyPercentage) / 100);
    // Capacity above desired that the batch may launch first; at least one when allowed at all.
    const extra =
      maxHealthyPercentage > 100
        ? Math.max(1, Math.floor((desired * maxHealthyPercentage) / 100) - desired)
        : 0;
    let size = Math.max(1, extra + desired - minHealthy);
    const next = checkpointPercentages?.find((p) => p > this.checkpointReached);
    if (this.phase.kind === "forward" && next !== undefined) {
      // AWS replaces fewer rather than pass a checkpoint.
      const toNext = Math.ceil((this.total * next) / 100) - this.phase.updated.size;
      size = Math.max(1, Math.min(size, toNext));
    }
    const batch = remaining.slice(0, size);
    this.statusReason = `Replacing ${batch.join(", ")}.`;
    batch.forEach((id, index) => {
      this.phase.batch.add(id);
      if (index < extra) {
        this.phase.replacing.add(id);
        this.group.replaceInstance(id);
      } else this.group.terminateInstance(id, false);
    });
  }

  private matches(instance: EmulatedInstance, target: LaunchTemplateSpecification | undefined): boolean {
    if (target === undefined || instance.launchTemplate === undefined) return false;
    const resolved = this.launchTemplates.resolve(target);
    return instance.launchTemplate.id === resolved.id && instance.launchTemplate.version === resolved.version;
  }

  private end(status: (typeof FINISHED)[number], reason: string | undefined): void {
    this.stop();
    this.status = status;
    this.statusReason = reason;
    this.endTime = this.clock.now();
    this.resolveEnded(this.view());
  }
}

/** A rollback's PercentageComplete: from where the refresh stood down to 0 as the rollback proceeds. */
function rolledBackPercentage(phase: Phase, rollback: RollbackDetails): number {
  const { toReplace } = phase;
  if (toReplace === undefined) return rollback.percentageCompleteOnRollback;
  if (toReplace.length === 0) return 0;
  const left = toReplace.length - phase.updated.size;
  return Math.floor((rollback.percentageCompleteOnRollback * left) / toReplace.length);
}
