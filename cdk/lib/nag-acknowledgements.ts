// The cdk-nag AwsSolutions findings EtcdCluster accepts, each with the reason it holds. Each is
// acknowledged on the one CloudFormation resource that needs it (never on a construct whose children
// would inherit it) and, for IAM5, as the exact finding (`AwsSolutions-IAM5[Resource::*]`), so a
// new wildcard on any role or policy, a new function on an old runtime, or a new managed policy is
// still reported. The functions run the latest Node.js runtime, so AwsSolutions-L1 needs none.
// test/cdk/checks.test.ts proves it by adding each and expecting the finding.
import { type CfnResource, Stack, Validations } from "aws-cdk-lib";
import type * as iam from "aws-cdk-lib/aws-iam";
import type { IConstruct } from "constructs";

export interface NagAcknowledged {
  /** autoscaling:DescribeAutoScalingGroups and ec2:DescribeInstances on "*" (IAM5 Resource::*). */
  readonly describePolicy: iam.ManagedPolicy;
  /** Lambda's VPC network-interface actions on "*" (IAM5 Resource::*). */
  readonly networkInterfacePolicy: iam.ManagedPolicy;
  /** Roles whose inline statements name the group by its ARN, whose UUID part is a wildcard. */
  readonly groupArnRoles: readonly iam.Role[];
  readonly autoScalingGroupArn: string;
}

export function acknowledgeNagFindings(acknowledged: NagAcknowledged): void {
  acknowledgeOn(acknowledged.describePolicy, {
    id: "AwsSolutions-IAM5[Resource::*]",
    reason:
      "autoscaling:DescribeAutoScalingGroups and ec2:DescribeInstances have no resource type in the " +
      "Service Authorization Reference, so '*' is the only resource IAM accepts for them. This policy " +
      "holds those two read-only actions and nothing else (test/cdk/etcd-cluster.test.ts pins it).",
  });
  acknowledgeOn(acknowledged.networkInterfacePolicy, {
    id: "AwsSolutions-IAM5[Resource::*]",
    reason:
      "Lambda creates, describes and deletes a VPC function's network interfaces with its execution role: " +
      "the interfaces' IDs do not exist at deploy, ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets " +
      "have no resource type, and AWSLambdaVPCAccessExecutionRole grants the same six actions on '*'. " +
      "This policy holds those actions and nothing else (test/cdk/etcd-cluster.test.ts pins it).",
  });
  for (const role of acknowledged.groupArnRoles) {
    acknowledgeOn(role, {
      id: `AwsSolutions-IAM5[Resource::${nagFlatten(Stack.of(role).resolve(acknowledged.autoScalingGroupArn))}]`,
      reason:
        "The wildcard is the group's UUID, assigned at creation and exposed by no template attribute; " +
        "the autoScalingGroupName part pins the statement to this cluster's group.",
    });
  }
}

/**
 * On the construct's CloudFormation resource, not on the construct: cdk-nag honours an
 * acknowledgement on a resource's ancestors, so one on the L2 role would also cover a policy added to
 * it later (role/DefaultPolicy).
 */
function acknowledgeOn(construct: IConstruct, acknowledgement: { id: string; reason: string }): void {
  const resource = construct.node.defaultChild as CfnResource | undefined;
  if (resource === undefined) {
    throw new Error(
      `${construct.node.path} has no CloudFormation resource to acknowledge ${acknowledgement.id} on`,
    );
  }
  Validations.of(resource).acknowledge(acknowledgement);
}

/** How cdk-nag prints a resolved ARN in a finding ID: strings as they are, Ref as <Name>, Join joined. */
function nagFlatten(value: unknown): string {
  if (typeof value === "string") {
    return value;
  }
  if (typeof value === "object" && value !== null) {
    if ("Ref" in value) {
      return `<${String(value.Ref)}>`;
    }
    if ("Fn::Join" in value && Array.isArray(value["Fn::Join"])) {
      const [delimiter, parts] = value["Fn::Join"] as [string, unknown[]];
      return parts.map(nagFlatten).join(delimiter);
    }
  }
  return JSON.stringify(value);
}
