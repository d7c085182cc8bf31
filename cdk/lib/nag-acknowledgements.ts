// The cdk-nag AwsSolutions findings EtcdCluster accepts, each with the reason it holds. They are
// acknowledged finding by finding (rule and resource), never a whole rule, so a new wildcard or a
// new managed policy still fails the check.
import { Stack, Validations } from "aws-cdk-lib";
import type { Construct } from "constructs";

export function acknowledgeNagFindings(cluster: Construct, autoScalingGroupArn: string): void {
  const validations = Validations.of(cluster);
  validations.acknowledge({
    id: "AwsSolutions-L1",
    reason:
      "The control-plane bundles are built and tested for Node 22; the runtime moves to a newer version " +
      "together with the bundles and their tests, not ahead of them.",
  });
  validations.acknowledge({
    id: "AwsSolutions-IAM5[Resource::*]",
    reason:
      "Only for actions with no resource type in the Service Authorization Reference: " +
      "autoscaling:DescribeAutoScalingGroups, ec2:DescribeInstances, and the Lambda VPC network-interface " +
      "actions (whose interfaces do not exist before Lambda creates them; AWSLambdaVPCAccessExecutionRole uses * too).",
  });
  validations.acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagFlatten(Stack.of(cluster).resolve(autoScalingGroupArn))}]`,
    reason:
      "The wildcard is the group's UUID, assigned at creation and exposed by no template attribute; " +
      "the autoScalingGroupName part pins the statement to this cluster's group.",
  });
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
