// The instance refresh actions of the Auto Scaling Query API (StartInstanceRefresh,
// DescribeInstanceRefreshes, CancelInstanceRefresh) over each group's refreshes, with the parameter
// names the SDK and the CLI send and the XML the SDK parses. Only the Rolling strategy exists here;
// a DesiredConfiguration is accepted and ignored (the emulator has no launch templates).
import { AwsApiError } from "./api-error";
import { type AutoScalingHandler, HEALTH_CHECK_GRACE_PERIOD_SECONDS, requireGroup } from "./auto-scaling-api";
import type { InstanceRefreshView } from "./instance-refresh";
import { memberList, optionalIntegerParam } from "./query-params";
import { isoTime, leaf, list, node } from "./xml";

export const INSTANCE_REFRESH_ACTIONS: Readonly<Record<string, AutoScalingHandler>> = {
  StartInstanceRefresh(params, backend) {
    const group = requireGroup(backend, params);
    const strategy = params.get("Strategy") ?? "Rolling";
    if (strategy !== "Rolling") {
      throw new AwsApiError("ValidationError", `Strategy ${strategy} is not supported here: use Rolling`);
    }
    const id = group.instanceRefreshes.start({
      minHealthyPercentage: optionalIntegerParam(params, "Preferences.MinHealthyPercentage"),
      maxHealthyPercentage: optionalIntegerParam(params, "Preferences.MaxHealthyPercentage"),
      instanceWarmupSeconds:
        optionalIntegerParam(params, "Preferences.InstanceWarmup") ??
        group.config.defaultInstanceWarmupSeconds ??
        HEALTH_CHECK_GRACE_PERIOD_SECONDS,
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
};

function renderRefresh(groupName: string, refresh: InstanceRefreshView): string {
  const { preferences } = refresh;
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
      leaf("SkipMatching", false),
    ),
    leaf("Strategy", "Rolling"),
  ].join("");
}
