// The instance refresh actions of the Auto Scaling Query API (StartInstanceRefresh,
// DescribeInstanceRefreshes, CancelInstanceRefresh, RollbackInstanceRefresh) over each group's
// refreshes, with the parameter names the SDK and the CLI send and the XML the SDK parses. Only the
// Rolling strategy exists here, and a desired configuration is a launch template version; what the
// emulator does not model (alarms, bake time, mixed instances, scale-in protection and standby
// preferences) is refused by name rather than ignored.
import { AwsApiError } from "./api-error";
import {
  type AutoScalingHandler,
  HEALTH_CHECK_GRACE_PERIOD_SECONDS,
  renderLaunchTemplate,
  requireGroup,
} from "./auto-scaling-api";
import type { InstanceRefreshView } from "./instance-refresh";
import type { LaunchTemplates } from "./launch-templates";
import { memberList, optionalIntegerParam, type QueryParams } from "./query-params";
import type { LaunchTemplateSpecification } from "./types";
import { isoTime, leaf, list, node } from "./xml";

/** Parameters of real AWS that the emulator would otherwise silently ignore. */
const NOT_EMULATED = [
  "Preferences.AlarmSpecification",
  "Preferences.BakeTime",
  "Preferences.ScaleInProtectedInstances",
  "Preferences.StandbyInstances",
  "DesiredConfiguration.MixedInstancesPolicy",
];

export const INSTANCE_REFRESH_ACTIONS: Readonly<Record<string, AutoScalingHandler>> = {
  StartInstanceRefresh(params, backend) {
    const group = requireGroup(backend, params);
    const strategy = params.get("Strategy") ?? "Rolling";
    if (strategy !== "Rolling") {
      throw new AwsApiError("ValidationError", `Strategy ${strategy} is not supported here: use Rolling`);
    }
    const unsupported = NOT_EMULATED.find((prefix) =>
      [...params.keys()].some((key) => key === prefix || key.startsWith(`${prefix}.`)),
    );
    if (unsupported !== undefined) {
      throw new AwsApiError("ValidationError", `${unsupported} is not emulated here; leave it out`);
    }
    const checkpoints = memberList(params, "Preferences.CheckpointPercentages");
    const id = group.instanceRefreshes.start({
      preferences: {
        minHealthyPercentage: optionalIntegerParam(params, "Preferences.MinHealthyPercentage"),
        maxHealthyPercentage: optionalIntegerParam(params, "Preferences.MaxHealthyPercentage"),
        instanceWarmupSeconds:
          optionalIntegerParam(params, "Preferences.InstanceWarmup") ??
          group.config.defaultInstanceWarmupSeconds ??
          HEALTH_CHECK_GRACE_PERIOD_SECONDS,
        skipMatching: optionalBooleanParam(params, "Preferences.SkipMatching"),
        autoRollback: optionalBooleanParam(params, "Preferences.AutoRollback"),
        checkpointPercentages:
          checkpoints.length === 0
            ? undefined
            : checkpoints.map((_, i) => integer(params, `Preferences.CheckpointPercentages.member.${i + 1}`)),
        checkpointDelaySeconds: optionalIntegerParam(params, "Preferences.CheckpointDelay"),
      },
      desiredConfiguration: desiredLaunchTemplate(params, backend.launchTemplates),
    });
    return leaf("InstanceRefreshId", id);
  },

  DescribeInstanceRefreshes(params, backend) {
    const group = requireGroup(backend, params);
    const refreshes = group.instanceRefreshes.describe(memberList(params, "InstanceRefreshIds"));
    return list(
      "InstanceRefreshes",
      "member",
      refreshes.map((refresh) => renderRefresh(group.name, refresh)),
    );
  },

  CancelInstanceRefresh(params, backend) {
    return leaf("InstanceRefreshId", requireGroup(backend, params).instanceRefreshes.cancel());
  },

  RollbackInstanceRefresh(params, backend) {
    return leaf("InstanceRefreshId", requireGroup(backend, params).instanceRefreshes.rollback());
  },
};

/** DesiredConfiguration.LaunchTemplate, with the ID and name filled in and the version as given. */
function desiredLaunchTemplate(
  params: QueryParams,
  launchTemplates: LaunchTemplates,
): LaunchTemplateSpecification | undefined {
  const prefix = "DesiredConfiguration.LaunchTemplate";
  if (![...params.keys()].some((key) => key.startsWith(`${prefix}.`))) return undefined;
  return launchTemplates.specification({
    id: params.get(`${prefix}.LaunchTemplateId`),
    name: params.get(`${prefix}.LaunchTemplateName`),
    version: params.get(`${prefix}.Version`),
  });
}

function optionalBooleanParam(params: QueryParams, name: string): boolean | undefined {
  const value = params.get(name);
  if (value === undefined) return undefined;
  if (value !== "true" && value !== "false") {
    throw new AwsApiError("ValidationError", `Value '${value}' at '${name}' must be true or false`);
  }
  return value === "true";
}

function integer(params: QueryParams, name: string): number {
  const value = optionalIntegerParam(params, name);
  if (value === undefined) throw new AwsApiError("ValidationError", `${name} is missing`);
  return value;
}

function renderRefresh(groupName: string, refresh: InstanceRefreshView): string {
  const { preferences, desiredConfiguration, rollbackDetails } = refresh;
  const checkpoints = preferences.checkpointPercentages;
  return [
    leaf("InstanceRefreshId", refresh.id),
    leaf("AutoScalingGroupName", groupName),
    leaf("Status", refresh.status),
    leaf("StatusReason", refresh.statusReason),
    leaf("StartTime", isoTime(refresh.startTime)),
    leaf("EndTime", refresh.endTime === undefined ? undefined : isoTime(refresh.endTime)),
    leaf("PercentageComplete", refresh.percentageComplete),
    leaf("InstancesToUpdate", refresh.instancesToUpdate),
    node(
      "Preferences",
      leaf("MinHealthyPercentage", preferences.minHealthyPercentage),
      leaf("MaxHealthyPercentage", preferences.maxHealthyPercentage),
      leaf("InstanceWarmup", preferences.instanceWarmupSeconds),
      leaf("SkipMatching", preferences.skipMatching),
      leaf("AutoRollback", preferences.autoRollback),
      checkpoints === undefined ? "" : list("CheckpointPercentages", "member", checkpoints.map(String)),
      leaf("CheckpointDelay", checkpoints === undefined ? undefined : preferences.checkpointDelaySeconds),
    ),
    desiredConfiguration === undefined
      ? ""
      : node("DesiredConfiguration", renderLaunchTemplate("LaunchTemplate", desiredConfiguration)),
    rollbackDetails === undefined
      ? ""
      : node(
          "RollbackDetails",
          leaf("RollbackReason", rollbackDetails.reason),
          leaf("RollbackStartTime", isoTime(rollbackDetails.startTime)),
          leaf("PercentageCompleteOnRollback", rollbackDetails.percentageCompleteOnRollback),
          leaf("InstancesToUpdateOnRollback", rollbackDetails.instancesToUpdateOnRollback),
        ),
    leaf("Strategy", "Rolling"),
  ].join("");
}
