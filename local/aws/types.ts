// The emulated Auto Scaling group's vocabulary: configuration, instance records and lifecycle
// events, named as the Auto Scaling API names them.

export type LifecycleTransition =
  | "autoscaling:EC2_INSTANCE_LAUNCHING"
  | "autoscaling:EC2_INSTANCE_TERMINATING";
export type LifecycleActionResult = "CONTINUE" | "ABANDON";

export type LifecycleState =
  | "Pending"
  | "Pending:Wait"
  | "Pending:Proceed"
  | "InService"
  | "Terminating"
  | "Terminating:Wait"
  | "Terminating:Proceed"
  | "Terminated";

export interface LifecycleHookConfig {
  readonly name: string;
  readonly transition: LifecycleTransition;
  /** How long an action waits for completion or a heartbeat before DefaultResult applies. AWS counts
   * seconds (30 to 7200); the emulator takes milliseconds so tests stay fast. */
  readonly heartbeatTimeoutMs: number;
  /** @default "ABANDON" (the AWS default) */
  readonly defaultResult?: LifecycleActionResult;
  readonly notificationMetadata?: string;
}

export interface AutoScalingGroupConfig {
  readonly name: string;
  readonly minSize: number;
  readonly maxSize: number;
  readonly desiredCapacity: number;
  /** Instances are spread over these round-robin. */
  readonly availabilityZones: readonly string[];
  /** @default [] */
  readonly lifecycleHooks?: readonly LifecycleHookConfig[];
  /** Which instance scale-in terminates first. @default "OldestInstance" */
  readonly terminationPolicy?: "OldestInstance" | "NewestInstance";
  /** @default "t3.small" */
  readonly instanceType?: string;
  /** DefaultInstanceWarmup: how long an instance refresh lets a new instance warm up unless told.
   * @default unset: the refresh then waits the health check grace period (300 s), as AWS does */
  readonly defaultInstanceWarmupSeconds?: number;
  /** The launch template version the group launches from; with `data`, the version is recorded
   * with EC2 first (local/aws/launch-templates.ts).
   * @default none: instances show no LaunchTemplate, and launch as `instanceType` with a fixed image */
  readonly launchTemplate?: LaunchTemplateInput;
}

/** A launch template version as Auto Scaling names it (its LaunchTemplateSpecification). `version` is a
 * number ("3"), or "$Latest" / "$Default" where the group was given those. */
export interface LaunchTemplateSpecification {
  readonly id: string;
  readonly name: string;
  readonly version: string;
}

/** One numbered version of a launch template and its LaunchTemplateData. */
export interface LaunchTemplateVersion extends LaunchTemplateSpecification {
  readonly data: Readonly<Record<string, unknown>>;
}

/** What a caller gives to point a group at a version: the name defaults to the one EC2 knows for the
 * ID; with `data`, the version is recorded (it must not differ from one recorded before). */
export interface LaunchTemplateInput {
  readonly id: string;
  readonly name?: string;
  readonly version: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

/** An instance as the emulator tracks it; a read-only copy is what callers get. */
export interface EmulatedInstance {
  readonly id: string;
  readonly groupName: string;
  readonly instanceType: string;
  /** The AMI: the launch template's ImageId, or a fixed stand-in without one. */
  readonly imageId: string;
  /** The launch template version it was launched from (a number), if the group had one. */
  readonly launchTemplate: LaunchTemplateSpecification | undefined;
  readonly availabilityZone: string;
  /** Assigned at launch; EC2 shows it only from `privateIpVisibleAt`, and no more once terminated. */
  readonly privateIp: string;
  readonly privateIpVisibleAt: number;
  readonly launchTime: number;
  readonly lifecycleState: LifecycleState;
  readonly healthStatus: "Healthy" | "Unhealthy";
}

/** An active lifecycle action: one per hook while an instance waits. */
export interface LifecycleActionView {
  readonly token: string;
  readonly instanceId: string;
  readonly hookName: string;
  readonly transition: LifecycleTransition;
  /** When DefaultResult applies unless completed or heartbeated first (epoch ms). */
  readonly timeoutAt: number;
}

/** The EventBridge event Auto Scaling sends when a lifecycle action starts, in AWS's exact shape. */
export interface LifecycleEvent {
  readonly version: "0";
  readonly id: string;
  readonly "detail-type": "EC2 Instance-launch Lifecycle Action" | "EC2 Instance-terminate Lifecycle Action";
  readonly source: "aws.autoscaling";
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: {
    readonly LifecycleActionToken: string;
    readonly AutoScalingGroupName: string;
    readonly LifecycleHookName: string;
    readonly EC2InstanceId: string;
    readonly LifecycleTransition: LifecycleTransition;
    readonly NotificationMetadata?: string;
    readonly Origin: "EC2" | "AutoScalingGroup";
    readonly Destination: "EC2" | "AutoScalingGroup";
  };
}
