// One emulated Auto Scaling group as a small state machine: capacity (min/max/desired), launches and
// terminations through lifecycle hooks (Pending:Wait / Terminating:Wait with tokens, heartbeat
// timeouts and DefaultResult), scale-in by termination policy, health replacement,
// launch-before-terminate replacement, the launch template version each launch uses (the group's, or
// an instance refresh's desired configuration) and instance refreshes (instance-refresh.ts). The API
// layer and tests drive it through its methods.
import { randomBytes, randomUUID } from "node:crypto";
import { AwsApiError } from "./api-error";
import type { Clock } from "./clock";
import { InstanceRefreshes } from "./instance-refresh";
import type { IpPool } from "./ip-pool";
import type { LaunchTemplates } from "./launch-templates";
import type {
  AutoScalingGroupConfig,
  EmulatedInstance,
  LaunchTemplateInput,
  LaunchTemplateSpecification,
  LifecycleActionResult,
  LifecycleActionView,
  LifecycleEvent,
  LifecycleHookConfig,
  LifecycleState,
  LifecycleTransition,
} from "./types";
import { isoTime } from "./xml";

const LAUNCHING: LifecycleTransition = "autoscaling:EC2_INSTANCE_LAUNCHING";
const TERMINATING: LifecycleTransition = "autoscaling:EC2_INSTANCE_TERMINATING";
/** The image of an instance whose launch template names none (or that has no launch template). */
export const DEFAULT_IMAGE_ID = "ami-0123456789abcdef0";

/** What a group needs from the emulator around it. */
export interface GroupContext {
  readonly region: string;
  readonly account: string;
  readonly clock: Clock;
  readonly ipPool: IpPool;
  readonly privateIpDelayMs: number;
  /** The account's launch templates: what a group's launch template version holds. */
  readonly launchTemplates: LaunchTemplates;
  /** Records the instance with EC2 (DescribeInstances sees it from now on). */
  registerInstance(instance: EmulatedInstance): void;
  instanceLaunched(instance: EmulatedInstance): void;
  instanceTerminated(instance: EmulatedInstance): void;
  lifecycleActionStarted(event: LifecycleEvent): void;
}

type MutableInstance = { -readonly [K in keyof EmulatedInstance]: EmulatedInstance[K] };

interface ActiveAction {
  readonly token: string;
  readonly instance: MutableInstance;
  readonly hook: LifecycleHookConfig;
  timeoutAt: number;
  timer: NodeJS.Timeout | undefined;
}

export class InvalidGroupConfigError extends Error {
  override readonly name = "InvalidGroupConfigError";
}

function newInstanceId(): string {
  return `i-${randomBytes(9).toString("hex").slice(0, 17)}`;
}

function validate(config: AutoScalingGroupConfig): void {
  const { name, minSize, maxSize, desiredCapacity, availabilityZones } = config;
  if (!(minSize >= 0 && minSize <= desiredCapacity && desiredCapacity <= maxSize)) {
    throw new InvalidGroupConfigError(
      `group ${name}: need 0 <= minSize <= desiredCapacity <= maxSize, got ${minSize}/${desiredCapacity}/${maxSize}`,
    );
  }
  if (availabilityZones.length === 0) {
    throw new InvalidGroupConfigError(`group ${name}: availabilityZones must not be empty`);
  }
  for (const hook of config.lifecycleHooks ?? []) {
    if (!(hook.heartbeatTimeoutMs > 0)) {
      throw new InvalidGroupConfigError(
        `group ${name}, hook ${hook.name}: heartbeatTimeoutMs must be > 0, got ${hook.heartbeatTimeoutMs}`,
      );
    }
  }
}

export class EmulatedAutoScalingGroup {
  readonly name: string;
  readonly arn: string;
  readonly createdTime: number;
  private min: number;
  private max: number;
  readonly instanceRefreshes: InstanceRefreshes;
  private desired: number;
  private readonly members: MutableInstance[] = [];
  private readonly actions = new Map<string, ActiveAction>();
  /** Instances to terminate once a replacement is InService (launch before terminate). */
  private readonly toReplace = new Set<string>();
  /** Actions completed through the API or ended by their heartbeat timeout, in the order they ended. */
  private readonly finished: FinishedLifecycleAction[] = [];
  private nextZone = 0;
  private stopped = false;
  /** The launch template version new instances use, as the group was given it. */
  private template: LaunchTemplateSpecification | undefined;

  constructor(
    readonly config: AutoScalingGroupConfig,
    private readonly context: GroupContext,
  ) {
    validate(config);
    this.name = config.name;
    this.min = config.minSize;
    this.max = config.maxSize;
    this.desired = config.desiredCapacity;
    this.createdTime = context.clock.now();
    this.arn = `arn:aws:autoscaling:${context.region}:${context.account}:autoScalingGroup:${randomUUID()}:autoScalingGroupName/${config.name}`;
    this.template = config.launchTemplate && this.record(config.launchTemplate);
    this.instanceRefreshes = new InstanceRefreshes(this, context.clock, context.launchTemplates);
    this.reconcileCapacity();
  }

  get desiredCapacity(): number {
    return this.desired;
  }

  get minSize(): number {
    return this.min;
  }

  get maxSize(): number {
    return this.max;
  }

  /**
   * UpdateAutoScalingGroup (an operator's, or CloudFormation's on a deploy): new sizes, and a desired
   * capacity moved into [min, max] when it falls outside and none is given, as AWS moves it.
   */
  update(sizes: {
    readonly minSize?: number;
    readonly maxSize?: number;
    readonly desiredCapacity?: number;
  }): void {
    const min = sizes.minSize ?? this.min;
    const max = sizes.maxSize ?? this.max;
    const desired = sizes.desiredCapacity ?? Math.min(max, Math.max(min, this.desired));
    if (!(min >= 0 && min <= desired && desired <= max)) {
      throw new AwsApiError(
        "ValidationError",
        `Desired capacity:${desired} must be between the specified min size:${min} and max size:${max}`,
      );
    }
    this.min = min;
    this.max = max;
    this.desired = desired;
    this.reconcileCapacity();
  }

  /** The launch template version the group launches from (its LaunchTemplate), if it has one. */
  get launchTemplate(): LaunchTemplateSpecification | undefined {
    return this.template;
  }

  /**
   * UpdateAutoScalingGroup's LaunchTemplate, which is what a CloudFormation update of the group's
   * LaunchTemplate property does: new launches use this version from now on; the running instances
   * stay as they are (only an instance refresh replaces them). With `data`, the version is recorded
   * with EC2 first.
   */
  setLaunchTemplate(input: LaunchTemplateInput): void {
    this.template = this.record(input);
  }

  get lifecycleHooks(): readonly LifecycleHookConfig[] {
    return this.config.lifecycleHooks ?? [];
  }

  /** The group's instances (terminated ones leave the group), oldest first. */
  instances(): EmulatedInstance[] {
    return this.members.map((instance) => ({ ...instance }));
  }

  activeLifecycleActions(): LifecycleActionView[] {
    return [...this.actions.values()].map((action) => ({
      token: action.token,
      instanceId: action.instance.id,
      hookName: action.hook.name,
      transition: action.hook.transition,
      timeoutAt: action.timeoutAt,
    }));
  }

  /** Every lifecycle action that ended by a completion or a timeout, oldest first. Actions cut short
   * because their instance was terminated, or another hook's action was abandoned, are not listed. */
  finishedLifecycleActions(): readonly FinishedLifecycleAction[] {
    return [...this.finished];
  }

  /** Every lifecycle action that timed out (DefaultResult applied), oldest first. */
  timedOutActions(): TimedOutAction[] {
    return this.finished.filter((action): action is TimedOutAction => action.by === "timeout");
  }

  setDesiredCapacity(desired: number): void {
    if (desired > this.maxSize) {
      throw new AwsApiError(
        "ValidationError",
        `New SetDesiredCapacity value ${desired} is above max value ${this.maxSize} for the AutoScalingGroup.`,
      );
    }
    if (desired < this.minSize) {
      throw new AwsApiError(
        "ValidationError",
        `New SetDesiredCapacity value ${desired} is below min value ${this.minSize} for the AutoScalingGroup.`,
      );
    }
    this.desired = desired;
    this.reconcileCapacity();
  }

  /** TerminateInstanceInAutoScalingGroup: without decrement the group launches a replacement. */
  terminateInstance(instanceId: string, decrementDesiredCapacity: boolean): EmulatedInstance {
    const instance = this.requireMember(instanceId);
    if (decrementDesiredCapacity && !isLeaving(instance.lifecycleState)) {
      if (this.desired <= this.minSize) {
        throw new AwsApiError(
          "ValidationError",
          `Currently, desiredCapacity ${this.desired} is equal to minSize ${this.minSize} and cannot be decremented.`,
        );
      }
      this.desired -= 1;
    }
    this.startTermination(instance);
    return { ...instance };
  }

  /** Health replacement: the instance is terminated and a replacement launched at the same time. */
  markUnhealthy(instanceId: string): void {
    const instance = this.requireMember(instanceId);
    instance.healthStatus = "Unhealthy";
    this.startTermination(instance);
  }

  /** Launch before terminate (AZ rebalance, instance refresh with extra capacity): a replacement is
   * launched now and the instance is terminated once the replacement is InService. */
  replaceInstance(instanceId: string): void {
    this.requireMember(instanceId);
    this.toReplace.add(instanceId);
    this.reconcileCapacity();
  }

  /** A launch-before-terminate replacement given up (the replacement's launch was abandoned): the
   * instance stays. The caller is about to terminate the abandoned instance, which settles capacity. */
  cancelReplacement(instanceId: string): void {
    this.toReplace.delete(instanceId);
  }

  completeLifecycleAction(request: ActionLookup & { result: LifecycleActionResult }): void {
    const action = this.findAction(request);
    this.finishAction(action, request.result, "api");
  }

  recordLifecycleActionHeartbeat(request: ActionLookup): void {
    const action = this.findAction(request);
    this.armTimer(action);
  }

  /** Cancels every timer; the group does nothing more. */
  stop(): void {
    this.stopped = true;
    this.instanceRefreshes.stop();
    for (const action of this.actions.values()) {
      if (action.timer) this.context.clock.clearTimer(action.timer);
    }
    this.actions.clear();
  }

  /** Records the version with EC2 when data comes with it; either way it must resolve. */
  private record(input: LaunchTemplateInput): LaunchTemplateSpecification {
    const { launchTemplates } = this.context;
    if (input.data !== undefined) {
      launchTemplates.put({ id: input.id, name: input.name, version: input.version, data: input.data });
    }
    return launchTemplates.specification({ id: input.id, version: input.version });
  }

  private requireMember(instanceId: string): MutableInstance {
    const instance = this.members.find((candidate) => candidate.id === instanceId);
    if (!instance) {
      throw new AwsApiError(
        "ValidationError",
        `Instance Id not found - No managed instance found for instance ID: ${instanceId}`,
      );
    }
    return instance;
  }

  private findAction(request: ActionLookup): ActiveAction {
    for (const action of this.actions.values()) {
      if (action.hook.name !== request.hookName) continue;
      if (
        request.token !== undefined
          ? action.token === request.token
          : action.instance.id === request.instanceId
      ) {
        return action;
      }
    }
    throw new AwsApiError(
      "ValidationError",
      request.token !== undefined
        ? `No active Lifecycle Action found with token ${request.token}`
        : `No active Lifecycle Action found with instance ID ${request.instanceId}`,
    );
  }

  /** Launches or terminates until the instances not leaving match desired capacity. */
  private reconcileCapacity(): void {
    if (this.stopped) return;
    const staying = () =>
      this.members.filter(
        (instance) => !isLeaving(instance.lifecycleState) && !this.toReplace.has(instance.id),
      );
    while (staying().length < this.desired) {
      if (!this.launch()) break;
    }
    // startTermination reconciles again, so re-read the group on every turn.
    for (let remaining = staying(); remaining.length > this.desired; remaining = staying()) {
      const byAge = remaining.sort((a, b) => a.launchTime - b.launchTime);
      const victim = this.config.terminationPolicy === "NewestInstance" ? byAge.at(-1) : byAge[0];
      if (victim) this.startTermination(victim);
    }
  }

  /** False when the IP pool is exhausted; the group stays short until an address is freed. */
  private launch(): boolean {
    const privateIp = this.context.ipPool.allocate();
    if (privateIp === undefined) return false;
    const zones = this.config.availabilityZones;
    const now = this.context.clock.now();
    // A refresh with a desired configuration (or its rollback) launches from that; else the group's.
    const specification = this.instanceRefreshes.launchTemplateForLaunches() ?? this.template;
    const template = specification && this.context.launchTemplates.resolve(specification);
    const data = template?.data ?? {};
    const instance: MutableInstance = {
      id: newInstanceId(),
      groupName: this.name,
      instanceType:
        typeof data.InstanceType === "string" ? data.InstanceType : (this.config.instanceType ?? "t3.small"),
      imageId: typeof data.ImageId === "string" ? data.ImageId : DEFAULT_IMAGE_ID,
      launchTemplate: template && { id: template.id, name: template.name, version: template.version },
      availabilityZone: zones[this.nextZone++ % zones.length] ?? "",
      privateIp,
      privateIpVisibleAt: now + this.context.privateIpDelayMs,
      launchTime: now,
      lifecycleState: "Pending",
      healthStatus: "Healthy",
    };
    this.members.push(instance);
    this.context.registerInstance(instance);
    this.context.instanceLaunched({ ...instance });
    this.enterWait(instance, LAUNCHING);
    return true;
  }

  private startTermination(instance: MutableInstance): void {
    if (isLeaving(instance.lifecycleState)) return;
    this.cancelActions(instance);
    this.toReplace.delete(instance.id);
    instance.lifecycleState = "Terminating";
    this.enterWait(instance, TERMINATING);
    this.reconcileCapacity();
  }

  private enterWait(instance: MutableInstance, transition: LifecycleTransition): void {
    const hooks = this.lifecycleHooks.filter((hook) => hook.transition === transition);
    if (hooks.length === 0) {
      this.proceed(instance, transition, "CONTINUE");
      return;
    }
    instance.lifecycleState = transition === LAUNCHING ? "Pending:Wait" : "Terminating:Wait";
    for (const hook of hooks) {
      const action: ActiveAction = {
        token: randomUUID(),
        instance,
        hook,
        timeoutAt: 0,
        timer: undefined,
      };
      this.actions.set(action.token, action);
      this.armTimer(action);
      this.context.lifecycleActionStarted(this.eventFor(action));
    }
  }

  private armTimer(action: ActiveAction): void {
    const { clock } = this.context;
    if (action.timer) clock.clearTimer(action.timer);
    action.timeoutAt = clock.now() + action.hook.heartbeatTimeoutMs;
    action.timer = clock.setTimer(
      () => this.finishAction(action, action.hook.defaultResult ?? "ABANDON", "timeout"),
      action.hook.heartbeatTimeoutMs,
    );
  }

  private finishAction(
    action: ActiveAction,
    result: LifecycleActionResult,
    by: FinishedLifecycleAction["by"],
  ): void {
    if (this.stopped || !this.actions.has(action.token)) return;
    if (action.timer) this.context.clock.clearTimer(action.timer);
    this.actions.delete(action.token);
    const { instance, hook } = action;
    this.finished.push({
      instanceId: instance.id,
      hookName: hook.name,
      transition: hook.transition,
      result,
      by,
      at: this.context.clock.now(),
    });
    // ABANDON ends the other hooks' actions too; CONTINUE waits for all of them.
    if (result === "ABANDON") this.cancelActions(instance);
    else if ([...this.actions.values()].some((other) => other.instance === instance)) return;
    this.proceed(instance, hook.transition, result);
  }

  private cancelActions(instance: MutableInstance): void {
    for (const [token, action] of this.actions) {
      if (action.instance === instance) {
        if (action.timer) this.context.clock.clearTimer(action.timer);
        this.actions.delete(token);
      }
    }
  }

  private proceed(
    instance: MutableInstance,
    transition: LifecycleTransition,
    result: LifecycleActionResult,
  ): void {
    if (transition === LAUNCHING) {
      if (result === "ABANDON") {
        // The refresh hears first, so whatever launches in the instance's place comes from the
        // configuration the refresh now wants (its rollback's, after a failure).
        this.instanceRefreshes.launchAbandoned(instance.id);
        this.startTermination(instance);
        return;
      }
      instance.lifecycleState = "InService";
      this.retireOneReplaced();
      this.instanceRefreshes.groupChanged();
      return;
    }
    instance.lifecycleState = "Terminated";
    this.members.splice(this.members.indexOf(instance), 1);
    this.context.ipPool.release(instance.privateIp);
    this.context.instanceTerminated({ ...instance });
    this.reconcileCapacity();
    this.instanceRefreshes.groupChanged();
  }

  /** A replacement reached InService: terminate the oldest instance waiting to be replaced. */
  private retireOneReplaced(): void {
    const [first] = this.toReplace;
    const replaced = this.members.find((instance) => instance.id === first);
    if (replaced) this.startTermination(replaced);
  }

  private eventFor(action: ActiveAction): LifecycleEvent {
    const launching = action.hook.transition === LAUNCHING;
    const metadata = action.hook.notificationMetadata;
    return {
      version: "0",
      id: randomUUID(),
      "detail-type": launching
        ? "EC2 Instance-launch Lifecycle Action"
        : "EC2 Instance-terminate Lifecycle Action",
      source: "aws.autoscaling",
      account: this.context.account,
      // EventBridge times have whole seconds.
      time: isoTime(this.context.clock.now()).replace(/\.\d{3}Z$/, "Z"),
      region: this.context.region,
      resources: [this.arn],
      detail: {
        LifecycleActionToken: action.token,
        AutoScalingGroupName: this.name,
        LifecycleHookName: action.hook.name,
        EC2InstanceId: action.instance.id,
        LifecycleTransition: action.hook.transition,
        ...(metadata === undefined ? {} : { NotificationMetadata: metadata }),
        Origin: launching ? "EC2" : "AutoScalingGroup",
        Destination: launching ? "AutoScalingGroup" : "EC2",
      },
    };
  }
}

/** How a lifecycle action ended. */
export interface FinishedLifecycleAction {
  readonly instanceId: string;
  readonly hookName: string;
  readonly transition: LifecycleTransition;
  readonly result: LifecycleActionResult;
  /** "api": CompleteLifecycleAction; "timeout": no completion or heartbeat in time, DefaultResult applied. */
  readonly by: "api" | "timeout";
  /** When it ended (epoch ms). */
  readonly at: number;
}

/** A lifecycle action nobody completed or heartbeated in time. */
export type TimedOutAction = FinishedLifecycleAction & { readonly by: "timeout" };

/** How CompleteLifecycleAction and RecordLifecycleActionHeartbeat name an action: by token, or by
 * instance ID when no token is given. */
export interface ActionLookup {
  readonly hookName: string;
  readonly token?: string | undefined;
  readonly instanceId?: string | undefined;
}

function isLeaving(state: LifecycleState): boolean {
  return state.startsWith("Terminat");
}
