// Auto Scaling's front end (Query protocol, `Action=<Operation>`): which permissions a request needs.
// Actions that act on a group (CompleteLifecycleAction, RecordLifecycleActionHeartbeat,
// SetInstanceHealth, StartInstanceRefresh, UpdateAutoScalingGroup, SetDesiredCapacity,
// SuspendProcesses…) are authorized on the group's ARN, which carries its UUID
// (`…:autoScalingGroup:<uuid>:autoScalingGroupName/<name>`): the emulator that owns the groups says
// what it is. Describe* and the other actions without resource types are authorized on `*`.
import { isWildcardOnlyAction } from "@cloud-copilot/iam-simulate";
import { memberList, type QueryParams } from "../aws/query-params";
import { queryRefusal } from "./denied";
import type { AuthorizationCheck, GateRequest, ServiceFront } from "./front";
import { queryParams } from "./query";

export const AUTO_SCALING_XMLNS = "http://autoscaling.amazonaws.com/doc/2011-01-01/";

export interface AutoScalingFrontOptions {
  readonly region: string;
  readonly account: string;
  /** The ARN of the group named `name`, if it exists. */
  readonly groupArn: (name: string) => string | undefined;
  /** The name of the group an instance is in, if it is in one (SetInstanceHealth names no group). */
  readonly groupOfInstance: (instanceId: string) => string | undefined;
}

export function autoScalingFront(options: AutoScalingFrontOptions): ServiceFront {
  return {
    signingName: "autoscaling",
    region: options.region,
    needsBody: () => true,
    resolve: (request) => resolve(request, options),
    refuse: (refusal, _request, requestId) => queryRefusal(AUTO_SCALING_XMLNS, refusal, requestId),
  };
}

async function resolve(
  request: GateRequest,
  options: AutoScalingFrontOptions,
): Promise<AuthorizationCheck[]> {
  const params = queryParams(request);
  const operation = params.get("Action");
  // No action: the service answers a validation error without acting.
  if (operation === undefined || operation === "") return [];
  const action = `autoscaling:${operation}`;
  // An action IAM does not know is authorized on `*`: iam-simulate then names it in its refusal.
  if (await isWildcardOnlyAction("autoscaling", operation).catch(() => true)) {
    return [{ action, resource: "*" }];
  }
  return groupNames(params, options).map((name) => ({ action, resource: groupArn(name, options) }));
}

/**
 * The groups a request acts on: the one it names, else those of the instances it names
 * (SetInstanceHealth, TerminateInstanceInAutoScalingGroup), else those it tags. `undefined` stands
 * for a group nobody can tell.
 */
function groupNames(params: QueryParams, options: AutoScalingFrontOptions): (string | undefined)[] {
  const named = params.get("AutoScalingGroupName");
  if (named !== undefined && named !== "") return [named];
  const instances = [params.get("InstanceId"), ...memberList(params, "InstanceIds")].filter(
    (id): id is string => id !== undefined && id !== "",
  );
  if (instances.length > 0) return unique(instances.map(options.groupOfInstance));
  const resources = [...params.entries()]
    .filter(([key]) => /^Tags\.member\.\d+\.ResourceId$/.test(key))
    .map(([, value]) => value);
  if (resources.length > 0) return unique(resources);
  return [undefined];
}

function groupArn(name: string | undefined, options: AutoScalingFrontOptions): string {
  const known = name === undefined ? undefined : options.groupArn(name);
  // A group that does not exist (or an instance in none) has no UUID: authorize on any UUID, so a
  // caller allowed on the name gets the service's own "not found" answer and others AccessDenied.
  return (
    known ??
    `arn:aws:autoscaling:${options.region}:${options.account}:autoScalingGroup:*:autoScalingGroupName/${name ?? "*"}`
  );
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
