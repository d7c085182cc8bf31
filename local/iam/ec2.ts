// EC2's front end (Query protocol, `Action=<Operation>`): which permissions a request needs.
// Describe* and the other actions without resource types are authorized on `*`; actions on instances
// (TerminateInstances, StopInstances…) on each instance's ARN. Every EC2 action sees `ec2:Region`.
import { isWildcardOnlyAction } from "@cloud-copilot/iam-simulate";
import { indexedValues } from "../aws/query-params";
import { ec2Refusal } from "./denied";
import type { AuthorizationCheck, GateRequest, ServiceFront } from "./front";
import { queryParams } from "./query";

export interface Ec2FrontOptions {
  readonly region: string;
  readonly account: string;
}

export function ec2Front(options: Ec2FrontOptions): ServiceFront {
  return {
    signingName: "ec2",
    region: options.region,
    needsBody: () => true,
    resolve: (request) => resolve(request, options),
    refuse: (refusal, _request, requestId) => ec2Refusal(refusal, requestId),
  };
}

async function resolve(request: GateRequest, options: Ec2FrontOptions): Promise<AuthorizationCheck[]> {
  const params = queryParams(request);
  const operation = params.get("Action");
  // No action: the service answers a validation error without acting.
  if (operation === undefined || operation === "") return [];
  const action = `ec2:${operation}`;
  const context = { "ec2:Region": options.region };
  if (await isWildcardOnlyAction("ec2", operation).catch(() => true)) {
    return [{ action, resource: "*", context }];
  }
  const instances = [...indexedValues(params, "InstanceId"), params.get("InstanceId")].filter(
    (id): id is string => id !== undefined && id !== "",
  );
  // Resources this front does not map (volumes, images…) are authorized on `*`: allowed only if the
  // caller may do the action on some resource.
  const resources =
    instances.length === 0
      ? ["*"]
      : instances.map((id) => `arn:aws:ec2:${options.region}:${options.account}:instance/${id}`);
  return resources.map((resource) => ({ action, resource, context }));
}
