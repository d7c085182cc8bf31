// The stack's Auto Scaling group as the simulator runs it, read from its
// AWS::AutoScaling::AutoScalingGroup and AWS::EC2::LaunchTemplate: name, sizes, health check, the
// lifecycle hooks declared on the group, the update policy, and the launch template's data — the
// user data the instances run, the image, the instance type, IMDS options and the instance profile's
// role.
import { type ResolveContext, resolve, resolveString } from "./intrinsics";
import { resourcesOfType, singleResourceOfType, type Template, TemplateError } from "./template";

export interface LifecycleHookModel {
  readonly name: string;
  readonly transition: "autoscaling:EC2_INSTANCE_LAUNCHING" | "autoscaling:EC2_INSTANCE_TERMINATING";
  readonly defaultResult: "CONTINUE" | "ABANDON";
  readonly heartbeatTimeoutSeconds: number;
  readonly notificationMetadata: string | undefined;
}

export interface LaunchTemplateModel {
  readonly logicalId: string;
  /** The user data script, decoded. */
  readonly userData: string;
  readonly imageId: string;
  readonly instanceType: string;
  readonly httpTokens: string | undefined;
  readonly instanceProfileArn: string | undefined;
  /** The whole resolved LaunchTemplateData: what makes a new launch template version when it changes. */
  readonly data: Readonly<Record<string, unknown>>;
}

export interface GroupModel {
  readonly logicalId: string;
  readonly name: string;
  readonly minSize: number;
  readonly maxSize: number;
  readonly desiredCapacity: number | undefined;
  readonly healthCheckType: string;
  readonly healthCheckGracePeriodSeconds: number;
  readonly defaultInstanceWarmupSeconds: number | undefined;
  readonly hooks: readonly LifecycleHookModel[];
  readonly launchTemplate: LaunchTemplateModel;
  /** The resource's UpdatePolicy attribute, as written. */
  readonly updatePolicy: Readonly<Record<string, unknown>> | undefined;
}

export function readGroup(template: Template, context: ResolveContext): GroupModel {
  const logicalId = singleResourceOfType(template, "AWS::AutoScaling::AutoScalingGroup");
  const resource = template.Resources[logicalId] as {
    Properties?: Record<string, unknown>;
    UpdatePolicy?: unknown;
  };
  const props = (resolve(resource.Properties, context, `${logicalId}.Properties`) ?? {}) as Record<
    string,
    unknown
  >;
  const launchTemplateRef = props.LaunchTemplate as { LaunchTemplateId?: string } | undefined;
  const launchTemplateId = resourcesOfType(template, "AWS::EC2::LaunchTemplate").find(
    (id) => context.ref(id) === launchTemplateRef?.LaunchTemplateId,
  );
  if (launchTemplateId === undefined) {
    throw new TemplateError(
      `${logicalId}: the group's LaunchTemplate is not a launch template of this stack`,
    );
  }
  return {
    logicalId,
    name:
      typeof props.AutoScalingGroupName === "string" ? props.AutoScalingGroupName : context.ref(logicalId),
    minSize: Number(props.MinSize),
    maxSize: Number(props.MaxSize),
    desiredCapacity: props.DesiredCapacity === undefined ? undefined : Number(props.DesiredCapacity),
    healthCheckType: String(props.HealthCheckType ?? "EC2"),
    healthCheckGracePeriodSeconds: Number(props.HealthCheckGracePeriod ?? 0),
    defaultInstanceWarmupSeconds:
      props.DefaultInstanceWarmup === undefined ? undefined : Number(props.DefaultInstanceWarmup),
    hooks: [...hooksOnGroup(props, logicalId), ...hookResources(template, context)],
    launchTemplate: readLaunchTemplate(template, context, launchTemplateId),
    updatePolicy: resource.UpdatePolicy as Record<string, unknown> | undefined,
  };
}

function hooksOnGroup(props: Record<string, unknown>, logicalId: string): LifecycleHookModel[] {
  const list = (props.LifecycleHookSpecificationList ?? []) as Array<Record<string, unknown>>;
  return list.map((hook, i) => toHook(hook, `${logicalId}.Properties.LifecycleHookSpecificationList[${i}]`));
}

function hookResources(template: Template, context: ResolveContext): LifecycleHookModel[] {
  return resourcesOfType(template, "AWS::AutoScaling::LifecycleHook").map((id) =>
    toHook(
      (resolve(template.Resources[id]?.Properties, context, `${id}.Properties`) ?? {}) as Record<
        string,
        unknown
      >,
      id,
    ),
  );
}

function toHook(hook: Record<string, unknown>, where: string): LifecycleHookModel {
  const transition = hook.LifecycleTransition;
  if (
    transition !== "autoscaling:EC2_INSTANCE_LAUNCHING" &&
    transition !== "autoscaling:EC2_INSTANCE_TERMINATING"
  ) {
    throw new TemplateError(`${where}: unknown LifecycleTransition ${JSON.stringify(transition)}`);
  }
  return {
    name: String(hook.LifecycleHookName),
    transition,
    // AWS's defaults when the template leaves them out.
    defaultResult: hook.DefaultResult === "CONTINUE" ? "CONTINUE" : "ABANDON",
    heartbeatTimeoutSeconds: Number(hook.HeartbeatTimeout ?? 3600),
    notificationMetadata:
      hook.NotificationMetadata === undefined ? undefined : String(hook.NotificationMetadata),
  };
}

function readLaunchTemplate(
  template: Template,
  context: ResolveContext,
  logicalId: string,
): LaunchTemplateModel {
  const where = `${logicalId}.Properties.LaunchTemplateData`;
  const data = (resolve(template.Resources[logicalId]?.Properties?.LaunchTemplateData, context, where) ??
    {}) as Record<string, unknown>;
  if (typeof data.UserData !== "string") throw new TemplateError(`${where}.UserData is missing`);
  const metadata = data.MetadataOptions as { HttpTokens?: string } | undefined;
  return {
    logicalId,
    userData: Buffer.from(data.UserData, "base64").toString("utf8"),
    imageId: resolveString(data.ImageId, context, `${where}.ImageId`),
    instanceType: resolveString(data.InstanceType, context, `${where}.InstanceType`),
    httpTokens: metadata?.HttpTokens,
    instanceProfileArn: (data.IamInstanceProfile as { Arn?: string } | undefined)?.Arn,
    data,
  };
}
