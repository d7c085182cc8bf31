// Reads a synthesized template's firewall: every ingress rule of a security group, whether CDK wrote
// it inline (CIDR peers) or as a separate AWS::EC2::SecurityGroupIngress (group peers), as one line.
import type { Template } from "aws-cdk-lib/assertions";

type Rule = Record<string, unknown>;
type Resource = { Properties: Record<string, unknown> };

/** `tcp 2379 from <LogicalId>` / `tcp 2379 from 10.0.0.0/16` for each rule admitting traffic to the group. */
export function ingressRules(template: Template, groupLogicalId: string): string[] {
  const groups = template.findResources("AWS::EC2::SecurityGroup") as Record<string, Resource>;
  const inline = (groups[groupLogicalId]?.Properties.SecurityGroupIngress as Rule[] | undefined) ?? [];
  const separate = Object.values(
    template.findResources("AWS::EC2::SecurityGroupIngress") as Record<string, Resource>,
  )
    .map((r) => r.Properties)
    .filter(
      (rule) =>
        JSON.stringify(rule.GroupId) === JSON.stringify({ "Fn::GetAtt": [groupLogicalId, "GroupId"] }),
    );
  return [...inline, ...separate].map(describeRule).sort();
}

function describeRule(rule: Rule): string {
  const ports = rule.FromPort === rule.ToPort ? `${rule.FromPort}` : `${rule.FromPort}-${rule.ToPort}`;
  const group = rule.SourceSecurityGroupId as { "Fn::GetAtt"?: [string, string] } | undefined;
  const source =
    group?.["Fn::GetAtt"]?.[0] ??
    rule.CidrIp ??
    rule.CidrIpv6 ??
    rule.SourcePrefixListId ??
    JSON.stringify(rule);
  return `${rule.IpProtocol} ${ports} from ${String(source)}`;
}
