// cfn-lint findings the synthesized template accepts, written into the resources' Metadata so that
// cfn-lint skips exactly those resources and a reader of the template sees why.
import type { CfnResource } from "aws-cdk-lib";

/** Adds `cfn-lint: { config: { ignore_checks } }` to the resource, with the reasons beside it. */
export function ignoreCfnLintChecks(resource: CfnResource, reasons: Readonly<Record<string, string>>): void {
  const previous = (resource.getMetadata("cfn-lint") ?? {}) as { config?: { ignore_checks?: string[] } };
  const checks = [...new Set([...(previous.config?.ignore_checks ?? []), ...Object.keys(reasons)])];
  resource.addMetadata("cfn-lint", { config: { ignore_checks: checks } });
  const previousReasons = (resource.getMetadata("cfn-lint-reasons") ?? {}) as Record<string, string>;
  resource.addMetadata("cfn-lint-reasons", { ...previousReasons, ...reasons });
}

/**
 * W3005 (DependsOn already enforced by a GetAtt): CDK adds an explicit DependsOn from a Lambda
 * function to its role, beside the GetAtt of the role's ARN. Redundant and harmless; it is CDK's
 * output, not ours to change.
 */
export const REDUNDANT_ROLE_DEPENDENCY = {
  W3005:
    "CDK writes DependsOn on the function's role beside the Role GetAtt: redundant, harmless, CDK's output",
} as const;

/**
 * W3010 (hard-coded availability zone): an environment-specific CDK VPC writes the zones the
 * `availability-zones` context holds for the target account, so subnets stay in the same zones
 * across deploys; Fn::GetAZs would let them move.
 */
export const CONTEXT_AVAILABILITY_ZONE = {
  W3010:
    "CDK writes the zones of the account's availability-zones context so subnets never move between deploys",
} as const;

/**
 * E3016 (update policy property): CloudFormation's AutoScalingInstanceRefresh update policy (CDK's
 * autoscaling.UpdatePolicy.instanceRefresh) is newer than the schema of the pinned cfn-lint, which
 * knows only AutoScalingRollingUpdate, AutoScalingReplacingUpdate and AutoScalingScheduledAction.
 */
export const INSTANCE_REFRESH_UPDATE_POLICY = {
  E3016:
    "AutoScalingInstanceRefresh is a CloudFormation update policy newer than the pinned cfn-lint's schema",
} as const;
