// What the synthesized EtcdAsg stack must hold: the hooks, the launch template, the firewall, IAM,
// the Lambdas and their delivery (rules, retries, DLQ), the ledger table and the alarms.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { gunzipSync } from "node:zlib";
import { Match, type Template } from "aws-cdk-lib/assertions";
import { FUNCTION_NAMES } from "../../cdk/lib/etcd-cluster-props";
import { FIXTURE_BOOT_SCRIPT, type Fixture, makeFixture, synthesize } from "./synth-fixture";

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };

let fixture: Fixture;
let template: Template;

before(() => {
  fixture = makeFixture();
  template = synthesize(fixture).template;
});
after(() => fixture.remove());

const resources = (type: string): Record<string, Resource> =>
  template.findResources(type) as Record<string, Resource>;
const logicalId = (type: string, pathFragment: string): string => {
  const ids = Object.keys(resources(type)).filter((id) => id.includes(pathFragment));
  assert.equal(
    ids.length,
    1,
    `one ${type} whose logical ID contains ${pathFragment}; found ${ids.join(", ")}`,
  );
  return ids[0] as string;
};
const resource = (type: string, id: string): Resource => {
  const found = resources(type)[id];
  assert.ok(found, `${type} ${id}`);
  return found;
};
const only = (type: string): Resource => {
  const all = Object.values(resources(type));
  assert.equal(all.length, 1, `one ${type}`);
  return all[0] as Resource;
};
const functionId = (name: string): string =>
  logicalId(
    "AWS::Lambda::Function",
    `ControlPlane${name.replace(/(^|-)([a-z])/g, (_, _d, l: string) => l.toUpperCase())}`,
  );

describe("Auto Scaling Group", () => {
  test("declares both lifecycle hooks on the group, with explicit DefaultResult and heartbeat", () => {
    template.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", {
      AutoScalingGroupName: "EtcdAsg-Cluster",
      MinSize: "3",
      MaxSize: "3",
      LifecycleHookSpecificationList: [
        {
          LifecycleHookName: "etcd-asg-launch",
          LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
          DefaultResult: "ABANDON",
          HeartbeatTimeout: 900,
        },
        {
          LifecycleHookName: "etcd-asg-terminate",
          LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
          DefaultResult: "CONTINUE",
          HeartbeatTimeout: 600,
        },
      ],
    });
    // Separate hook resources would be created after the group's first launches.
    template.resourceCountIs("AWS::AutoScaling::LifecycleHook", 0);
  });

  test("spreads the nodes over the private subnets of three availability zones", () => {
    template.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", {
      VPCZoneIdentifier: Match.arrayWith([
        Match.objectLike({ Ref: Match.stringLikeRegexp("privateSubnet") }),
      ]),
    });
    const group = only("AWS::AutoScaling::AutoScalingGroup");
    assert.equal((group.Properties.VPCZoneIdentifier as unknown[]).length, 3);
  });

  test("is created only after the rules that deliver its lifecycle events", () => {
    const group = template.findResources("AWS::AutoScaling::AutoScalingGroup");
    const dependsOn = (Object.values(group)[0] as { DependsOn: string[] }).DependsOn;
    assert.ok(dependsOn.includes(logicalId("AWS::Events::Rule", "LaunchRule")));
    assert.ok(dependsOn.includes(logicalId("AWS::Events::Rule", "TerminateRule")));
  });

  test("suspends AZRebalance once the group exists", () => {
    template.hasResourceProperties("Custom::AWS", {
      Create: Match.serializedJson(
        Match.objectLike({
          service: "AutoScaling",
          action: "suspendProcesses",
          parameters: { AutoScalingGroupName: "EtcdAsg-Cluster", ScalingProcesses: ["AZRebalance"] },
        }),
      ),
    });
  });
});

describe("launch template", () => {
  test("requires IMDSv2 with a hop limit of 1", () => {
    template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: { HttpTokens: "required", HttpPutResponseHopLimit: 1 },
      }),
    });
  });

  test("gives each node an encrypted gp3 root and a 20 GiB encrypted gp3 data volume", () => {
    template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({
        BlockDeviceMappings: [
          { DeviceName: "/dev/xvda", Ebs: Match.objectLike({ Encrypted: true, VolumeType: "gp3" }) },
          {
            DeviceName: "/dev/sdf",
            Ebs: { Encrypted: true, VolumeType: "gp3", VolumeSize: 20, DeleteOnTermination: true },
          },
        ],
      }),
    });
  });

  test("uses the Graviton Amazon Linux 2023 image for the default m6g.large", () => {
    template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({ InstanceType: "m6g.large" }),
    });
    const parameters = Object.values(template.toJSON().Parameters as Record<string, { Default?: string }>);
    assert.ok(
      parameters.some((p) =>
        /^\/aws\/service\/ami-amazon-linux-latest\/al2023-ami-kernel-[\d.]+-arm64$/.test(p.Default ?? ""),
      ),
    );
  });

  test("user data mounts the data volume, installs the boot script and starts it with the node API URL", () => {
    const data = only("AWS::EC2::LaunchTemplate").Properties.LaunchTemplateData as { UserData: unknown };
    const userData = renderJoin((data.UserData as { "Fn::Base64": unknown })["Fn::Base64"]);
    const mount = userData.indexOf("mount /var/lib/etcd");
    const install =
      /^base64 -d <<'ETCD_ASG_BOOT_SCRIPT' \| gunzip > \/usr\/local\/sbin\/etcd-asg-boot\n([\s\S]*?)\nETCD_ASG_BOOT_SCRIPT$/m.exec(
        userData,
      );
    const start =
      /^ETCD_ASG_NODE_API_URL=<\w+NodeApiFunctionUrl\w+\.FunctionUrl> ETCD_ASG_ETCD_VERSION=3\.5\.21 ETCD_ASG_ETCD_SHA256=95bf6918623a097c0385b96f139d90248614485e781ec9bee4768dbb6c79c53f \/usr\/local\/sbin\/etcd-asg-boot -o start$/m.exec(
        userData,
      );
    assert.ok(mount > 0, "mounts /var/lib/etcd");
    assert.ok(userData.includes("mkfs.xfs"), "formats a blank volume");
    assert.ok(install, "installs the boot script");
    assert.ok(install.index > mount, "installs the boot script after mounting");
    const script = gunzipSync(Buffer.from((install[1] ?? "").replace(/\n/g, ""), "base64")).toString("utf8");
    assert.equal(script, FIXTURE_BOOT_SCRIPT);
    assert.ok(userData.includes("chmod 755 /usr/local/sbin/etcd-asg-boot"));
    assert.ok(start, "runs the boot script with the node API URL and the etcd release");
    assert.ok(start.index > install.index, "runs the boot script after installing it");
  });
});

describe("security groups", () => {
  const nodeGroup = () => ({
    "Fn::GetAtt": [logicalId("AWS::EC2::SecurityGroup", "NodeSecurityGroup"), "GroupId"],
  });
  const lambdaGroup = () => ({
    "Fn::GetAtt": [logicalId("AWS::EC2::SecurityGroup", "LambdaSecurityGroup"), "GroupId"],
  });

  test("admit the peer port 2380 only from the node group", () => {
    const peerRules = Object.values(resources("AWS::EC2::SecurityGroupIngress")).filter(
      (r) => r.Properties.FromPort === 2380 || r.Properties.ToPort === 2380,
    );
    assert.equal(peerRules.length, 1);
    assert.deepEqual(peerRules[0]?.Properties.SourceSecurityGroupId, nodeGroup());
    assert.equal(peerRules[0]?.Properties.ToPort, 2380);
  });

  test("admit the client port 2379 from the node group and the Lambda group only", () => {
    const clientRules = Object.values(resources("AWS::EC2::SecurityGroupIngress")).filter(
      (r) => r.Properties.FromPort === 2379,
    );
    assert.deepEqual(
      clientRules
        .map((r) => r.Properties.SourceSecurityGroupId)
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      [nodeGroup(), lambdaGroup()].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
    for (const rule of clientRules) {
      assert.deepEqual(rule.Properties.GroupId, nodeGroup());
      assert.equal(rule.Properties.ToPort, 2379);
    }
  });

  test("admit nothing from 0.0.0.0/0 or ::/0", () => {
    const inline = Object.values(resources("AWS::EC2::SecurityGroup")).flatMap(
      (g) => (g.Properties.SecurityGroupIngress as Record<string, unknown>[] | undefined) ?? [],
    );
    const separate = Object.values(resources("AWS::EC2::SecurityGroupIngress")).map((r) => r.Properties);
    for (const rule of [...inline, ...separate]) {
      assert.notEqual(rule.CidrIp, "0.0.0.0/0");
      assert.notEqual(rule.CidrIpv6, "::/0");
    }
  });

  test("let the Lambdas out only to the nodes' client port and HTTPS", () => {
    template.hasResourceProperties("AWS::EC2::SecurityGroupEgress", {
      GroupId: lambdaGroup(),
      DestinationSecurityGroupId: nodeGroup(),
      FromPort: 2379,
      ToPort: 2379,
    });
    template.hasResourceProperties("AWS::EC2::SecurityGroup", {
      GroupDescription: Match.stringLikeRegexp("control-plane Lambdas"),
      SecurityGroupEgress: [Match.objectLike({ CidrIp: "0.0.0.0/0", FromPort: 443, ToPort: 443 })],
    });
  });
});

describe("IAM", () => {
  test("scopes lifecycle actions to this group's ARN and Describe* to * only", () => {
    for (const name of FUNCTION_NAMES) {
      const role = functionRole(name);
      const statements = inlineStatements(role);
      const lifecycle = statements.find((s) => s.Sid === "CompleteLifecycleActionsOfThisGroup");
      assert.deepEqual(lifecycle?.Action, [
        "autoscaling:CompleteLifecycleAction",
        "autoscaling:RecordLifecycleActionHeartbeat",
      ]);
      assert.equal(
        lifecycle?.Resource,
        "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/EtcdAsg-Cluster",
      );
      for (const statement of statements.filter((s) => s.Resource === "*")) {
        for (const action of [statement.Action].flat()) {
          assert.match(
            String(action),
            /^(autoscaling:Describe|ec2:Describe|ec2:(Create|Delete)NetworkInterface$|ec2:(Assign|Unassign)PrivateIpAddresses$)/,
            `${action} on * in ${name}'s role`,
          );
        }
      }
      const ledger = statements.find((s) => s.Sid === "ReadWriteLedger");
      assert.deepEqual(ledger?.Resource, {
        "Fn::GetAtt": [logicalId("AWS::DynamoDB::Table", "Ledger"), "Arn"],
      });
    }
  });

  test("lets the nodes invoke the node API's URL and nothing else", () => {
    const nodeApiArn = { "Fn::GetAtt": [functionId("node-api"), "Arn"] };
    template.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: logicalId("AWS::IAM::Role", "NodeRole") }],
      PolicyDocument: {
        Statement: [
          {
            Action: "lambda:InvokeFunctionUrl",
            Effect: "Allow",
            Resource: nodeApiArn,
            Condition: { StringEquals: { "lambda:FunctionUrlAuthType": "AWS_IAM" } },
          },
          {
            Action: "lambda:InvokeFunction",
            Effect: "Allow",
            Resource: nodeApiArn,
            Condition: { Bool: { "lambda:InvokedViaFunctionUrl": true } },
          },
        ],
      },
    });
    const nodeRole = resources("AWS::IAM::Role")[logicalId("AWS::IAM::Role", "NodeRole")];
    assert.equal(nodeRole?.Properties.ManagedPolicyArns, undefined);
    assert.equal(nodeRole?.Properties.Policies, undefined);
  });

  test("attaches no AWS managed policy to any role", () => {
    for (const [id, role] of Object.entries(resources("AWS::IAM::Role"))) {
      if (id.startsWith("CustomVpcRestrictDefaultSG")) continue; // CDK's own provider, inline policies only
      assert.equal(role.Properties.ManagedPolicyArns, undefined, `${id} has managed policies`);
    }
  });
});

describe("Lambdas", () => {
  test("run Node 22 from the bundles' lib/index.handler with the shared environment, in the VPC", () => {
    for (const name of FUNCTION_NAMES) {
      const fn = resource("AWS::Lambda::Function", functionId(name));
      assert.equal(fn.Properties.Runtime, "nodejs22.x");
      assert.equal(fn.Properties.Handler, "lib/index.handler");
      assert.deepEqual(
        Object.keys((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables).sort(),
        [
          "ASG_NAME",
          "CLUSTER_NAME",
          "CLUSTER_SIZE",
          "ETCD_CLIENT_PORT",
          "ETCD_PEER_PORT",
          "JOIN_STRATEGY",
          "LAUNCH_HOOK_NAME",
          "LEDGER_TABLE",
          "POWERTOOLS_LOG_LEVEL",
          "POWERTOOLS_SERVICE_NAME",
          "TERMINATE_HOOK_NAME",
          ...(name === "node-api" ? ["INSTANCE_ROLE_ARN"] : []),
        ].sort(),
      );
      const vpcConfig = fn.Properties.VpcConfig as { SubnetIds: unknown[]; SecurityGroupIds: unknown[] };
      assert.equal(vpcConfig.SubnetIds.length, 3);
      assert.deepEqual(vpcConfig.SecurityGroupIds, [
        { "Fn::GetAtt": [logicalId("AWS::EC2::SecurityGroup", "LambdaSecurityGroup"), "GroupId"] },
      ]);
    }
    template.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "lib/index.handler",
      Environment: {
        Variables: {
          CLUSTER_NAME: "EtcdAsg-Cluster",
          ASG_NAME: "EtcdAsg-Cluster",
          LEDGER_TABLE: { Ref: logicalId("AWS::DynamoDB::Table", "Ledger") },
          CLUSTER_SIZE: "3",
          JOIN_STRATEGY: "replace",
          LAUNCH_HOOK_NAME: "etcd-asg-launch",
          TERMINATE_HOOK_NAME: "etcd-asg-terminate",
          ETCD_CLIENT_PORT: "2379",
          ETCD_PEER_PORT: "2380",
          POWERTOOLS_SERVICE_NAME: "etcd-asg",
          POWERTOOLS_LOG_LEVEL: "INFO",
        },
      },
    });
  });

  test("serialise the membership-changing functions with a reserved concurrency of 1", () => {
    for (const name of ["launch-hook", "terminate-hook", "reconciler"]) {
      assert.equal(
        resource("AWS::Lambda::Function", functionId(name)).Properties.ReservedConcurrentExecutions,
        1,
        name,
      );
    }
    assert.equal(
      resource("AWS::Lambda::Function", functionId("node-api")).Properties.ReservedConcurrentExecutions,
      undefined,
    );
  });

  test("serve the node API on a function URL with IAM auth", () => {
    template.hasResourceProperties("AWS::Lambda::Url", {
      AuthType: "AWS_IAM",
      TargetFunctionArn: { "Fn::GetAtt": [functionId("node-api"), "Arn"] },
    });
  });

  test("the node API accepts only sessions of the node role", () => {
    const env = resource("AWS::Lambda::Function", functionId("node-api")).Properties.Environment as {
      Variables: Record<string, unknown>;
    };
    assert.deepEqual(env.Variables.INSTANCE_ROLE_ARN, {
      "Fn::GetAtt": [logicalId("AWS::IAM::Role", "NodeRole"), "Arn"],
    });
  });

  test("keep their logs for a month", () => {
    for (const name of FUNCTION_NAMES) {
      const fn = resource("AWS::Lambda::Function", functionId(name));
      const logGroup = (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      assert.equal(resources("AWS::Logs::LogGroup")[logGroup]?.Properties.RetentionInDays, 30);
    }
  });
});

describe("event delivery", () => {
  const dlqArn = () => ({ "Fn::GetAtt": [logicalId("AWS::SQS::Queue", "DeadLetterQueue"), "Arn"] });

  for (const [hook, detailType, name] of [
    ["launch", "EC2 Instance-launch Lifecycle Action", "launch-hook"],
    ["terminate", "EC2 Instance-terminate Lifecycle Action", "terminate-hook"],
  ] as const) {
    test(`routes this group's ${hook} lifecycle actions to ${name} with retries and a dead-letter queue`, () => {
      template.hasResourceProperties("AWS::Events::Rule", {
        EventPattern: {
          source: ["aws.autoscaling"],
          "detail-type": [detailType],
          detail: { AutoScalingGroupName: ["EtcdAsg-Cluster"], LifecycleHookName: [`etcd-asg-${hook}`] },
        },
        Targets: [
          Match.objectLike({
            Arn: { "Fn::GetAtt": [functionId(name), "Arn"] },
            RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 3600 },
            DeadLetterConfig: { Arn: dlqArn() },
          }),
        ],
      });
      template.hasResourceProperties("AWS::Lambda::Function", {
        Handler: "lib/index.handler",
        DeadLetterConfig: { TargetArn: dlqArn() },
        ReservedConcurrentExecutions: 1,
        Timeout: 60,
      });
    });
  }

  test("runs the reconciler every minute, with retries and the dead-letter queue", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(1 minute)",
      Targets: [
        Match.objectLike({
          Arn: { "Fn::GetAtt": [functionId("reconciler"), "Arn"] },
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 2 }),
          DeadLetterConfig: { Arn: dlqArn() },
        }),
      ],
    });
  });

  test("keeps dead letters encrypted for 14 days and refuses plain HTTP", () => {
    template.hasResourceProperties("AWS::SQS::Queue", {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1209600,
    });
    template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
  });
});

describe("ledger table", () => {
  test("is on demand, with point-in-time recovery and TTL, and retained on stack delete", () => {
    template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: {
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
        ],
        BillingMode: "PAY_PER_REQUEST",
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
      },
    });
  });
});

describe("network", () => {
  test("gives the private subnets NAT and a DynamoDB gateway endpoint", () => {
    template.resourceCountIs("AWS::EC2::NatGateway", 1);
    template.hasResourceProperties("AWS::EC2::VPCEndpoint", {
      VpcEndpointType: "Gateway",
      ServiceName: Match.objectLike({ "Fn::Join": ["", Match.arrayWith([".dynamodb"])] }),
    });
  });
});

describe("alarms and outputs", () => {
  for (const metricName of ["QuorumAtRisk", "MembershipDrift", "LifecycleActionFailures"]) {
    test(`alarm on the ${metricName} metric the Lambdas emit`, () => {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "EtcdAsg",
        MetricName: metricName,
        Dimensions: [{ Name: "ClusterName", Value: "EtcdAsg-Cluster" }],
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        AlarmActions: [{ Ref: logicalId("AWS::SNS::Topic", "AlarmTopic") }],
      });
    });
  }

  test("alarm on any message in the dead-letter queue", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/SQS",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [
        {
          Name: "QueueName",
          Value: { "Fn::GetAtt": [logicalId("AWS::SQS::Queue", "DeadLetterQueue"), "QueueName"] },
        },
      ],
      Threshold: 1,
    });
  });

  test("output the group, the ledger, the node API URL and a command that lists the client URLs", () => {
    template.hasOutput("AutoScalingGroupName", { Value: "EtcdAsg-Cluster" });
    template.hasOutput("LedgerTableName", { Value: { Ref: logicalId("AWS::DynamoDB::Table", "Ledger") } });
    template.hasOutput("NodeApiUrl", {
      Value: { "Fn::GetAtt": [Match.stringLikeRegexp("NodeApiFunctionUrl"), "FunctionUrl"] },
    });
    template.hasOutput("ClientEndpointsCommand", {
      Value: Match.stringLikeRegexp(
        "aws ec2 describe-instances --region us-east-1 --filters Name=tag:aws:autoscaling:groupName,Values=EtcdAsg-Cluster .*http://&:2379",
      ),
    });
  });
});

/** Renders a Fn::Join of strings and references as text, references as <LogicalId.Attribute>. */
function renderJoin(value: unknown): string {
  if (typeof value === "string") return value;
  const join = (value as { "Fn::Join"?: [string, unknown[]] })["Fn::Join"];
  if (join) return join[1].map(renderJoin).join(join[0]);
  const getAtt = (value as { "Fn::GetAtt"?: [string, string] })["Fn::GetAtt"];
  if (getAtt) return `<${getAtt[0]}.${getAtt[1]}>`;
  return `<${JSON.stringify(value)}>`;
}

function functionRole(name: string): Resource {
  const fn = resource("AWS::Lambda::Function", functionId(name));
  const roleId = (fn.Properties.Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
  const role = resources("AWS::IAM::Role")[roleId];
  assert.ok(role, `${name}'s role`);
  return role;
}

function inlineStatements(role: Resource): { Sid?: string; Action: unknown; Resource: unknown }[] {
  const policies = role.Properties.Policies as {
    PolicyDocument: { Statement: { Sid?: string; Action: unknown; Resource: unknown }[] };
  }[];
  return policies.flatMap((p) => p.PolicyDocument.Statement);
}
