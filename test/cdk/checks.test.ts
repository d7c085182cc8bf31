// The field's own checkers on the synthesized stack: cdk-nag's AwsSolutions pack finds nothing that
// is not acknowledged with a reason, and still finds what is new (a wildcard on any role, a function
// on an old runtime, an AWS managed policy); cfn-lint finds no error and no warning (scripts/cfn-lint,
// which says "skipped" when cfn-lint is not installed).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { AwsSolutionsChecks } from "cdk-nag";
import { build, type Fixture, makeFixture, type Synthesized, synthesize } from "./synth-fixture";

const CFN_LINT = path.resolve(__dirname, "..", "..", "scripts", "cfn-lint");
const GROUP_ARN =
  "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/EtcdAsg-Cluster";
const CONTROL_PLANE = "EtcdAsg/Cluster/ControlPlane";
/** The functions whose roles complete this group's lifecycle actions (by its ARN). */
const MEMBERSHIP_FUNCTIONS = ["LaunchHook", "TerminateHook", "Reconciler", "NodeApi"] as const;
const FUNCTIONS = [...MEMBERSHIP_FUNCTIONS, "ClientCert"] as const;

let fixture: Fixture;
let synthesized: Synthesized;

before(() => {
  fixture = makeFixture();
  synthesized = synthesize(fixture);
});
after(() => fixture.remove());

/** `<rule finding> <construct path>` for every unacknowledged AwsSolutions finding under the app. */
function nagFindings(scope: Synthesized["app"]): string[] {
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`),
  );
}

test("cdk-nag AwsSolutions reports no unacknowledged finding", () => {
  assert.deepEqual(nagFindings(synthesized.app), []);
});

test("acknowledges each AwsSolutions finding on the one resource that needs it, with a reason", () => {
  const acknowledged = synthesized.app.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .filter(([id]) => id.includes("AwsSolutions-"))
      .map(([id, reason]) => ({ at: `${id.replace(/^Annotation::/, "")} ${c.node.path}`, reason })),
  );
  assert.deepEqual(
    acknowledged.map((a) => a.at).sort(),
    [
      `AwsSolutions-IAM5[Resource::*] ${CONTROL_PLANE}/DescribeGroupAndInstances/Resource`,
      `AwsSolutions-IAM5[Resource::*] ${CONTROL_PLANE}/NetworkInterfacesInTheVpc/Resource`,
      ...MEMBERSHIP_FUNCTIONS.map(
        (f) => `AwsSolutions-IAM5[Resource::${GROUP_ARN}] ${CONTROL_PLANE}/${f}Role/Resource`,
      ),
      `AwsSolutions-IAM5[Resource::${GROUP_ARN}] EtcdAsg/Cluster/SuspendAzRebalanceRole/Resource`,
    ].sort(),
  );
  for (const { at, reason } of acknowledged) {
    assert.ok(reason.length > 80, `acknowledgement ${at} gives a reason: ${reason}`);
  }
});

describe("cdk-nag AwsSolutions still reports what is new", () => {
  // The compliant case is the stack as built (above); here the same stack with one new wildcard on
  // every role, in each place a statement can go, and a new function and managed policy.
  let findings: string[];
  let rolePaths: string[];

  before(() => {
    const { app, stack } = build(fixture);
    const roles = stack.node.findAll().filter((c): c is iam.Role => c instanceof iam.Role);
    rolePaths = roles.map((r) => r.node.path);
    for (const role of roles) {
      // A separate policy (role/DefaultPolicy), the way grant* methods add statements.
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ["s3:GetObject"], resources: ["*"] }));
      // A statement in the role's own inline policies, beside the acknowledged group ARN.
      const cfnRole = role.node.defaultChild as iam.CfnRole;
      const inline = (stack.resolve(cfnRole.policies) ?? []) as iam.CfnRole.PolicyProperty[];
      cfnRole.policies = [
        ...inline,
        {
          policyName: "Added",
          policyDocument: {
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Action: "ec2:Describe*", Resource: "*" }],
          },
        },
      ];
    }
    // New wildcards in the two policies whose Resource::* is acknowledged.
    const policy = (id: string): iam.ManagedPolicy => {
      const found = stack.node.findAll().find((c) => c instanceof iam.ManagedPolicy && c.node.id === id);
      assert.ok(found, id);
      return found as iam.ManagedPolicy;
    };
    policy("DescribeGroupAndInstances").addStatements(
      new iam.PolicyStatement({ actions: ["ec2:Describe*"], resources: ["*"] }),
    );
    policy("NetworkInterfacesInTheVpc").addStatements(
      new iam.PolicyStatement({ actions: ["dynamodb:GetItem"], resources: ["arn:aws:dynamodb:*:*:table/*"] }),
    );
    // A new function in the cluster, on the same runtime as the acknowledged ones, with CDK's
    // default role (AWSLambdaBasicExecutionRole).
    new lambda.Function(stack.cluster, "Extra", {
      runtime: lambda.Runtime.NODEJS_22_X,
      code: lambda.Code.fromInline("exports.handler = async () => {};"),
      handler: "index.handler",
    });
    findings = nagFindings(app);
  });

  test("covers every role: the nodes', the Lambdas', and the custom resource's", () => {
    assert.deepEqual(
      rolePaths.sort(),
      [
        ...FUNCTIONS.map((f) => `${CONTROL_PLANE}/${f}Role`),
        "EtcdAsg/Cluster/Network/Vpc/RejectedFlows/IAMRole",
        "EtcdAsg/Cluster/NodeRole",
        "EtcdAsg/Cluster/SuspendAzRebalanceRole",
      ].sort(),
    );
  });

  test("reports a wildcard resource in a policy added to any role", () => {
    for (const role of rolePaths) {
      assert.ok(
        findings.includes(`AwsSolutions-IAM5[Resource::*] ${role}/DefaultPolicy/Resource`),
        `${role}/DefaultPolicy in ${findings.join("\n")}`,
      );
    }
  });

  test("reports a wildcard action and resource in any role's own inline policy", () => {
    for (const role of rolePaths) {
      for (const finding of ["Action::ec2:Describe*", "Resource::*"]) {
        assert.ok(
          findings.includes(`AwsSolutions-IAM5[${finding}] ${role}/Resource`),
          `${finding} on ${role} in ${findings.join("\n")}`,
        );
      }
    }
  });

  test("reports any other wildcard in the two policies whose Resource::* is acknowledged", () => {
    assert.ok(
      findings.includes(
        `AwsSolutions-IAM5[Action::ec2:Describe*] ${CONTROL_PLANE}/DescribeGroupAndInstances/Resource`,
      ),
    );
    assert.ok(
      findings.includes(
        `AwsSolutions-IAM5[Resource::arn:aws:dynamodb:*:*:table/*] ${CONTROL_PLANE}/NetworkInterfacesInTheVpc/Resource`,
      ),
    );
  });

  test("reports a new function's runtime and its AWS managed policy", () => {
    assert.ok(findings.includes("AwsSolutions-L1 EtcdAsg/Cluster/Extra/Resource"), findings.join("\n"));
    assert.ok(
      findings.includes(
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole] EtcdAsg/Cluster/Extra/ServiceRole/Resource",
      ),
      findings.join("\n"),
    );
  });
});

test("cfn-lint reports no error and no warning on the synthesized template", (t) => {
  const output = execFileSync(CFN_LINT, [synthesized.templatePath], { encoding: "utf8" });
  if (output.startsWith("skipped:")) {
    t.skip(output.trim());
    return;
  }
  assert.match(output, /cfn-lint: 0 errors, 0 warnings in 1 template\(s\)/);
});
