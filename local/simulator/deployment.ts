// The stack deployed onto the simulator's local services, from a StackModel: the control-plane
// functions (their code, handler, runtime, environment, role, timeout, memory and concurrency as the
// template says, plus the simulator's endpoints and the overrides in force), EventBridge delivery of
// the rules, the schedules, and the group with its hooks. A later deploy (another synthesis of the
// app) updates it the way CloudFormation updates a stack: functions get the new configuration in
// fresh containers, the group its new sizes, the rules and schedule their new settings, and the
// launch template a new version when its data changed, which the group's UpdatePolicy rolls out
// (local/aws/stack-update.ts: an instance refresh the update waits for, and the stack's rollback).
import { join } from "node:path";
import type { EmulatedAutoScalingGroup } from "../aws/auto-scaling-group";
import type { AwsEmulator } from "../aws/emulator";
import { type GroupUpdateResult, readInstanceRefreshPolicy, updateLaunchTemplate } from "../aws/stack-update";
import type { LaunchTemplateSpecification, LifecycleHookConfig } from "../aws/types";
import type { FunctionModel } from "../stack/functions";
import type { StackModel } from "../stack/model";
import { type DeliveryRecord, EventDelivery } from "./event-delivery";
import { type InvocationRecord, LambdaFunction, type LambdaFunctionOptions } from "./lambda-function";
import { lambdaNodeBinary } from "./lambda-runtime";
import type { Overrides } from "./options";
import { scheduledRulePeriods, scheduleSpeedup } from "./schedules";

/** What a function needs from the simulator around it. */
export interface FunctionHost {
  /** AWS_ENDPOINT_URL_* of the local servers. */
  readonly endpoints: Readonly<Record<string, string>>;
  /** Credentials of a session of the function's role, as Lambda gets them from STS. */
  credentials(
    roleArn: string,
    sessionName: string,
  ): {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken: string;
  };
  readonly logDir: string;
  /** Told of every function invocation once it ended. */
  readonly onInvocation?: (record: InvocationRecord) => void;
  /** The UID and GID the workers run under. @default the simulator's */
  readonly runAs?: { readonly uid: number; readonly gid: number };
}

export interface RunningFunction {
  readonly model: FunctionModel;
  readonly fn: LambdaFunction;
}

export interface DeploymentOptions {
  readonly emulator: AwsEmulator;
  readonly host: FunctionHost;
  readonly overrides: Overrides;
  /** The group's desired capacity and max size right after the deploy, when an operator sets them. */
  readonly capacity: number | undefined;
  readonly maxSize: number | undefined;
  readonly onRecord: (record: DeliveryRecord) => void;
}

export class StackDeployment {
  readonly functions = new Map<string, RunningFunction>();
  readonly delivery: EventDelivery;
  readonly group: EmulatedAutoScalingGroup;
  private schedules: NodeJS.Timeout[] = [];
  /** The scheduled rules with a run in flight: a rule's next tick is skipped until it ends. */
  private readonly scheduleBusy = new Set<string>();
  /** Set by pauseSchedule(): the schedules' ticks are skipped. */
  schedulePaused = false;

  constructor(
    private model: StackModel,
    private readonly options: DeploymentOptions,
  ) {
    for (const fn of model.functions) {
      this.functions.set(fn.role, { model: fn, fn: new LambdaFunction(this.functionOptions(fn)) });
    }
    this.delivery = new EventDelivery(this.deliveryOptions());
    options.emulator.onLifecycleEvent((event) => this.delivery.deliver(event));
    this.startSchedule();
    const { group } = model;
    const desired = options.capacity ?? group.desiredCapacity ?? group.minSize;
    this.group = options.emulator.createAutoScalingGroup({
      name: group.name,
      // An operator's capacity outside the template's sizes moves them, as UpdateAutoScalingGroup must.
      minSize: Math.min(group.minSize, desired),
      maxSize: Math.max(group.maxSize, options.maxSize ?? 0, desired),
      desiredCapacity: desired,
      availabilityZones: model.context.pseudo.availabilityZones,
      defaultInstanceWarmupSeconds: options.overrides.instanceWarmupSeconds,
      lifecycleHooks: this.hooks(),
      launchTemplate: { ...this.launchTemplateId(model), version: "1", data: group.launchTemplate.data },
    });
  }

  /** The launch template as CloudFormation names it (its physical ID). */
  private launchTemplateId(model: StackModel): { id: string } {
    return { id: model.context.ref(model.group.launchTemplate.logicalId) };
  }

  /** The user data of the launch template version an instance was launched from. */
  userDataOf(spec: LaunchTemplateSpecification | undefined): string {
    const data = spec === undefined ? undefined : this.options.emulator.launchTemplates.resolve(spec).data;
    if (typeof data?.UserData !== "string") return this.model.group.launchTemplate.userData;
    return Buffer.from(data.UserData, "base64").toString("utf8");
  }

  get stack(): StackModel {
    return this.model;
  }

  /** The function the control plane names `role` (its etcd-asg:function tag). */
  fn(role: string): LambdaFunction | undefined {
    return this.functions.get(role)?.fn;
  }

  /**
   * A new version of the stack: what changed is applied as CloudFormation would apply it, the group
   * last. A launch template whose data changed gets a new version; with the group's instance refresh
   * policy the update waits for the roll, and a failed roll rolls the whole stack back.
   */
  async update(model: StackModel, boundMs?: number): Promise<GroupUpdateResult> {
    const previous = this.model;
    this.apply(model);
    const version = this.options.emulator.launchTemplates.update({
      ...this.launchTemplateId(model),
      data: model.group.launchTemplate.data,
    });
    const result = await updateLaunchTemplate({
      group: this.group,
      launchTemplate: version,
      policy: readInstanceRefreshPolicy(model.group.updatePolicy),
      rollbackPolicy: readInstanceRefreshPolicy(previous.group.updatePolicy),
      ...(boundMs === undefined ? {} : { boundMs }),
    });
    if (result.status !== "UPDATE_COMPLETE") this.apply(previous);
    return result;
  }

  private apply(model: StackModel): void {
    this.model = model;
    for (const fn of model.functions) {
      const running = this.functions.get(fn.role);
      if (running === undefined) {
        this.functions.set(fn.role, { model: fn, fn: new LambdaFunction(this.functionOptions(fn)) });
      } else if (JSON.stringify(running.model) !== JSON.stringify(fn)) {
        running.fn.deploy(this.functionOptions(fn));
        this.functions.set(fn.role, { model: fn, fn: running.fn });
      }
    }
    this.delivery.redeploy(this.deliveryOptions());
    this.startSchedule();
    this.group.update({ minSize: model.group.minSize, maxSize: model.group.maxSize });
  }

  async stop(): Promise<void> {
    for (const timer of this.schedules) clearInterval(timer);
    await Promise.all([...this.functions.values()].map(({ fn }) => fn.stop()));
  }

  private functionOptions(fn: FunctionModel): LambdaFunctionOptions {
    const { host, overrides } = this.options;
    const logGroup = `/aws/lambda/${fn.name}`;
    const credentials = host.credentials(fn.roleArn, fn.name);
    return {
      name: fn.role,
      arn: fn.arn,
      codeDir: fn.codeDir,
      handler: fn.handler,
      node: lambdaNodeBinary(fn.runtime),
      timeoutMs: fn.timeoutSeconds * 1000,
      memoryMb: fn.memoryMb,
      serial: fn.reservedConcurrency === 1,
      logFile: join(host.logDir, `${fn.role}.log`),
      ...(host.onInvocation === undefined ? {} : { onInvocation: host.onInvocation }),
      runAs: host.runAs,
      env: {
        // What Lambda's runtime sets (the function's environment cannot override these).
        PATH: "/usr/local/bin:/usr/bin:/bin",
        LANG: "en_US.UTF-8",
        TZ: ":UTC",
        LAMBDA_TASK_ROOT: fn.codeDir,
        AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
        AWS_REGION: this.model.region,
        AWS_DEFAULT_REGION: this.model.region,
        AWS_LAMBDA_FUNCTION_NAME: fn.name,
        AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
        AWS_LAMBDA_LOG_GROUP_NAME: logGroup,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_SESSION_TOKEN: credentials.sessionToken,
        // The function's own environment, from the template.
        ...fn.environment,
        // The simulator's: local endpoints, and the overrides it prints at start.
        ...host.endpoints,
        LEARNER_READY_TIMEOUT_SECONDS: String(overrides.learnerReadyTimeoutSeconds),
        ...healthAndStorageEnv(overrides),
      },
    };
  }

  private deliveryOptions() {
    return {
      rules: this.model.rules,
      functions: [...this.functions.values()],
      account: this.model.account,
      region: this.model.region,
      retryDelaysMs: this.options.overrides.asyncRetryDelaysMs,
      ageScale: this.ageScale(),
      onRecord: this.options.onRecord,
    };
  }

  /** How many times faster than AWS the schedules run: event ages shrink by as much. */
  private ageScale(): number {
    return scheduleSpeedup(this.model, this.options.overrides.reconcileIntervalMs);
  }

  /** Every scheduled rule runs (local/simulator/schedules.ts says how fast). */
  private startSchedule(): void {
    for (const timer of this.schedules) clearInterval(timer);
    const { overrides } = this.options;
    const snapshotMs =
      overrides.snapshotIntervalSeconds === undefined ? undefined : overrides.snapshotIntervalSeconds * 1000;
    this.schedules = scheduledRulePeriods(this.model, overrides.reconcileIntervalMs, snapshotMs).map(
      ({ rule, periodMs }) =>
        setInterval(() => {
          // Reserved concurrency and a MaximumEventAge near the period leave one run at a time.
          if (this.schedulePaused || this.scheduleBusy.has(rule.logicalId)) return;
          this.scheduleBusy.add(rule.logicalId);
          void this.delivery.schedule(rule).finally(() => {
            this.scheduleBusy.delete(rule.logicalId);
          });
        }, periodMs),
    );
  }

  private hooks(): LifecycleHookConfig[] {
    const { overrides } = this.options;
    return this.model.group.hooks.map((hook) => ({
      name: hook.name,
      transition: hook.transition,
      defaultResult: hook.defaultResult,
      heartbeatTimeoutMs:
        hook.transition === "autoscaling:EC2_INSTANCE_LAUNCHING"
          ? overrides.launchHeartbeatTimeoutMs
          : overrides.terminateHeartbeatTimeoutMs,
      ...(hook.notificationMetadata === undefined ? {} : { notificationMetadata: hook.notificationMetadata }),
    }));
  }
}

/** The health policy follows the schedule's period as the stack's follows its 1 min rate; the
 * quota, when overridden, reaches the nodes (node API) and upkeep (reconciler) alike; recovery's
 * threshold, the snapshot interval and the recovery mode (when overridden) reach every function. */
function healthAndStorageEnv(overrides: Overrides): Record<string, string> {
  return {
    RECONCILE_PERIOD_SECONDS: String(Math.max(1, Math.round(overrides.reconcileIntervalMs / 1000))),
    HEALTH_GRACE_SECONDS: String(overrides.healthGraceSeconds),
    HEALTH_WARMUP_SECONDS: String(overrides.healthWarmupSeconds),
    QUORUM_LOSS_THRESHOLD_SECONDS: String(overrides.quorumLossThresholdSeconds),
    ...(overrides.snapshotIntervalSeconds === undefined
      ? {}
      : { SNAPSHOT_INTERVAL_SECONDS: String(overrides.snapshotIntervalSeconds) }),
    ...(overrides.quotaBackendBytes === undefined
      ? {}
      : { QUOTA_BACKEND_BYTES_OVERRIDE: String(overrides.quotaBackendBytes) }),
    ...(overrides.disasterRecovery === undefined ? {} : { DISASTER_RECOVERY: overrides.disasterRecovery }),
  };
}
