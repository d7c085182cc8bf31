// The Auto Scaling Query API (Version 2011-01-01) over the emulated groups: each action reads its
// parameters as the SDK and the CLI send them and answers the XML the SDK parses.
import { randomUUID } from "node:crypto";
import { AwsApiError } from "./api-error";
import type { EmulatedAutoScalingGroup } from "./auto-scaling-group";
import type { LaunchTemplates } from "./launch-templates";
import {
  booleanParam,
  integerParam,
  memberList,
  optionalIntegerParam,
  type QueryParams,
  requireParam,
} from "./query-params";
import type { EmulatedInstance, LaunchTemplateSpecification, LifecycleActionResult } from "./types";
import { isoTime, leaf, list, node } from "./xml";

export const AUTO_SCALING_VERSION = "2011-01-01";
export const AUTO_SCALING_NAMESPACE = "http://autoscaling.amazonaws.com/doc/2011-01-01/";

export interface AutoScalingBackend {
  groups(): readonly EmulatedAutoScalingGroup[];
  now(): number;
  readonly launchTemplates: LaunchTemplates;
}

export type AutoScalingHandler = (params: QueryParams, backend: AutoScalingBackend) => string;

/** What the emulator reports as the group's HealthCheckGracePeriod (seconds). */
export const HEALTH_CHECK_GRACE_PERIOD_SECONDS = 300;

/** The `…Result` element's content for each supported action. */
export const AUTO_SCALING_ACTIONS: Readonly<Record<string, AutoScalingHandler>> = {
  DescribeAutoScalingGroups(params, backend) {
    const names = memberList(params, "AutoScalingGroupNames");
    const groups = backend.groups().filter((group) => names.length === 0 || names.includes(group.name));
    return list("AutoScalingGroups", "member", groups.map(renderGroup));
  },

  DescribeAutoScalingInstances(params, backend) {
    const ids = memberList(params, "InstanceIds");
    const instances = backend
      .groups()
      .flatMap((group) => group.instances())
      .filter((instance) => ids.length === 0 || ids.includes(instance.id));
    return list(
      "AutoScalingInstances",
      "member",
      instances.map((instance) =>
        [
          leaf("InstanceId", instance.id),
          leaf("InstanceType", instance.instanceType),
          leaf("AutoScalingGroupName", instance.groupName),
          leaf("AvailabilityZone", instance.availabilityZone),
          leaf("LifecycleState", instance.lifecycleState),
          // This API spells health in capitals, unlike DescribeAutoScalingGroups.
          leaf("HealthStatus", instance.healthStatus.toUpperCase()),
          launchTemplateOf(instance),
          leaf("ProtectedFromScaleIn", false),
        ].join(""),
      ),
    );
  },

  DescribeLifecycleHooks(params, backend) {
    const group = requireGroup(backend, params);
    const names = memberList(params, "LifecycleHookNames");
    const hooks = group.lifecycleHooks.filter((hook) => names.length === 0 || names.includes(hook.name));
    return list(
      "LifecycleHooks",
      "member",
      hooks.map((hook) => {
        const heartbeatSeconds = Math.ceil(hook.heartbeatTimeoutMs / 1000);
        return [
          leaf("LifecycleHookName", hook.name),
          leaf("AutoScalingGroupName", group.name),
          leaf("LifecycleTransition", hook.transition),
          leaf("NotificationMetadata", hook.notificationMetadata),
          leaf("HeartbeatTimeout", heartbeatSeconds),
          // AWS caps the total wait at 100 heartbeat timeouts (or 48 hours, whichever is smaller).
          leaf("GlobalTimeout", Math.min(100 * heartbeatSeconds, 172800)),
          leaf("DefaultResult", hook.defaultResult ?? "ABANDON"),
        ].join("");
      }),
    );
  },

  CompleteLifecycleAction(params, backend) {
    const group = requireGroup(backend, params);
    group.completeLifecycleAction({ ...actionLookup(params), result: actionResult(params) });
    return "";
  },

  RecordLifecycleActionHeartbeat(params, backend) {
    requireGroup(backend, params).recordLifecycleActionHeartbeat(actionLookup(params));
    return "";
  },

  UpdateAutoScalingGroup(params, backend) {
    const group = requireGroup(backend, params);
    if ([...params.keys()].some((key) => key.startsWith("LaunchTemplate."))) {
      group.setLaunchTemplate(
        backend.launchTemplates.specification({
          id: params.get("LaunchTemplate.LaunchTemplateId"),
          name: params.get("LaunchTemplate.LaunchTemplateName"),
          version: params.get("LaunchTemplate.Version"),
        }),
      );
    }
    group.update({
      minSize: optionalIntegerParam(params, "MinSize"),
      maxSize: optionalIntegerParam(params, "MaxSize"),
      desiredCapacity: optionalIntegerParam(params, "DesiredCapacity"),
    });
    return "";
  },

  SetDesiredCapacity(params, backend) {
    requireGroup(backend, params).setDesiredCapacity(integerParam(params, "DesiredCapacity"));
    return "";
  },

  TerminateInstanceInAutoScalingGroup(params, backend) {
    const instanceId = requireParam(params, "InstanceId");
    const decrement = booleanParam(params, "ShouldDecrementDesiredCapacity");
    const { group } = findInstance(backend, instanceId);
    const instance = group.terminateInstance(instanceId, decrement);
    return renderTerminationActivity(group, instance, backend.now());
  },

  // Unhealthy: the group terminates the instance and launches a replacement (health replacement).
  // While the grace period runs after launch, the call is ignored unless ShouldRespectGracePeriod is
  // false, as AWS does.
  SetInstanceHealth(params, backend) {
    const instanceId = requireParam(params, "InstanceId");
    const status = requireParam(params, "HealthStatus");
    if (status !== "Healthy" && status !== "Unhealthy") {
      throw new AwsApiError(
        "ValidationError",
        `Invalid HealthStatus ${status}: must be Healthy or Unhealthy`,
      );
    }
    const respectGrace =
      params.get("ShouldRespectGracePeriod") === undefined ||
      booleanParam(params, "ShouldRespectGracePeriod");
    const { group, instance } = findInstance(backend, instanceId);
    const inGrace = backend.now() - instance.launchTime < HEALTH_CHECK_GRACE_PERIOD_SECONDS * 1000;
    if (status === "Unhealthy" && !(respectGrace && inGrace)) group.markUnhealthy(instanceId);
    return "";
  },
};

/** The instance and its group, or the ValidationError AWS gives for an instance no group manages. */
function findInstance(backend: AutoScalingBackend, instanceId: string) {
  for (const group of backend.groups()) {
    const instance = group.instances().find((i) => i.id === instanceId);
    if (instance !== undefined) return { group, instance };
  }
  throw new AwsApiError(
    "ValidationError",
    `Instance Id not found - No managed instance found for instance ID: ${instanceId}`,
  );
}

export function requireGroup(backend: AutoScalingBackend, params: QueryParams): EmulatedAutoScalingGroup {
  const name = requireParam(params, "AutoScalingGroupName");
  const group = backend.groups().find((candidate) => candidate.name === name);
  if (!group) {
    throw new AwsApiError(
      "ValidationError",
      `AutoScalingGroup name not found - AutoScalingGroup ${name} not found`,
    );
  }
  return group;
}

function actionLookup(params: QueryParams) {
  const hookName = requireParam(params, "LifecycleHookName");
  const token = params.get("LifecycleActionToken");
  const instanceId = params.get("InstanceId");
  if (token === undefined && instanceId === undefined) {
    throw new AwsApiError("ValidationError", "Either LifecycleActionToken or InstanceId must be specified");
  }
  return { hookName, token, instanceId };
}

function actionResult(params: QueryParams): LifecycleActionResult {
  const result = requireParam(params, "LifecycleActionResult");
  if (result !== "CONTINUE" && result !== "ABANDON") {
    throw new AwsApiError(
      "ValidationError",
      `Invalid LifecycleActionResult ${result}: must be CONTINUE or ABANDON`,
    );
  }
  return result;
}

function renderGroup(group: EmulatedAutoScalingGroup): string {
  return [
    leaf("AutoScalingGroupName", group.name),
    leaf("AutoScalingGroupARN", group.arn),
    leaf("MinSize", group.minSize),
    leaf("MaxSize", group.maxSize),
    leaf("DesiredCapacity", group.desiredCapacity),
    group.launchTemplate === undefined ? "" : renderLaunchTemplate("LaunchTemplate", group.launchTemplate),
    leaf("DefaultCooldown", 300),
    list("AvailabilityZones", "member", group.config.availabilityZones),
    list("LoadBalancerNames", "member", []),
    list("TargetGroupARNs", "member", []),
    leaf("HealthCheckType", "EC2"),
    leaf("HealthCheckGracePeriod", HEALTH_CHECK_GRACE_PERIOD_SECONDS),
    leaf("DefaultInstanceWarmup", group.config.defaultInstanceWarmupSeconds),
    list("Instances", "member", group.instances().map(renderGroupInstance)),
    leaf("CreatedTime", isoTime(group.createdTime)),
    list("SuspendedProcesses", "member", []),
    list("EnabledMetrics", "member", []),
    list("Tags", "member", []),
    list("TerminationPolicies", "member", [group.config.terminationPolicy ?? "Default"]),
    leaf("NewInstancesProtectedFromScaleIn", false),
  ].join("");
}

function renderGroupInstance(instance: EmulatedInstance): string {
  return [
    leaf("InstanceId", instance.id),
    leaf("InstanceType", instance.instanceType),
    leaf("AvailabilityZone", instance.availabilityZone),
    leaf("LifecycleState", instance.lifecycleState),
    leaf("HealthStatus", instance.healthStatus),
    launchTemplateOf(instance),
    leaf("ProtectedFromScaleIn", false),
  ].join("");
}

/** A LaunchTemplateSpecification element, as groups, instances and refreshes show one. */
export function renderLaunchTemplate(name: string, template: LaunchTemplateSpecification): string {
  return node(
    name,
    leaf("LaunchTemplateId", template.id),
    leaf("LaunchTemplateName", template.name),
    leaf("Version", template.version),
  );
}

/** The version the instance was launched from; nothing for a group without a launch template. */
function launchTemplateOf(instance: EmulatedInstance): string {
  return instance.launchTemplate === undefined
    ? ""
    : renderLaunchTemplate("LaunchTemplate", instance.launchTemplate);
}

function renderTerminationActivity(group: EmulatedAutoScalingGroup, instance: EmulatedInstance, now: number) {
  return node(
    "Activity",
    leaf("ActivityId", randomUUID()),
    leaf("AutoScalingGroupName", group.name),
    leaf("Description", `Terminating EC2 instance: ${instance.id}`),
    leaf(
      "Cause",
      `At ${isoTime(now)} instance ${instance.id} was taken out of service in response to a user request.`,
    ),
    leaf("StartTime", isoTime(now)),
    leaf("StatusCode", "InProgress"),
    leaf("Progress", 0),
    leaf("Details", "{}"),
  );
}
