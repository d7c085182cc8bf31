// What the synthesized EtcdAsg stack must hold: the hooks, the launch template, the firewall, IAM,
// the certificate authorities' KMS keys, the Lambdas and their delivery (rules, retries, DLQ), the
// ledger table and the alarms.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { Match, type Template } from "aws-cdk-lib/assertions";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import { FUNCTION_NAMES } from "../../cdk/lib/etcd-cluster-props";
import { functionMemoryMb } from "../../cdk/lib/function-memory";
import { loadConfig } from "../../lambdas/config";
import { NODE_API_WARM_UP_INPUT } from "../../lambdas/events/warm-up-event";
import { ingressRules } from "./firewall";
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
  logicalId("AWS::Lambda::Function", `ControlPlane${pascal(name)}`);
/** The functions that read the group and complete its lifecycle actions: all but client-cert and snapshot. */
const MEMBERSHIP_FUNCTIONS = FUNCTION_NAMES.filter((name) => name !== "client-cert" && name !== "snapshot");

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

  test("rolls a changed launch template with an instance refresh: launch before terminate, one node at a time", () => {
    const group = only("AWS::AutoScaling::AutoScalingGroup") as Resource & {
      UpdatePolicy?: Record<string, unknown>;
    };
    assert.deepEqual(group.UpdatePolicy?.AutoScalingInstanceRefresh, {
      Strategy: "Rolling",
      Preferences: { MinHealthyPercentage: 100, MaxHealthyPercentage: 110, SkipMatching: true },
    });
    assert.equal(group.Properties.DefaultInstanceWarmup, 60);
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

  test("takes a pinned image instead when given one, with no SSM parameter to move it", () => {
    const pinned = synthesize(fixture, {
      machineImage: ec2.MachineImage.genericLinux({ "us-east-1": "ami-0123456789abcdef0" }),
    }).template;
    pinned.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({ ImageId: "ami-0123456789abcdef0" }),
    });
    const parameters = Object.values(pinned.toJSON().Parameters as Record<string, { Default?: string }>);
    assert.ok(!parameters.some((p) => /ami-amazon-linux-latest/.test(p.Default ?? "")));
  });

  test("user data mounts the data volume, fetches the boot script asset it pins by hash and runs it with the node API URL", () => {
    const data = only("AWS::EC2::LaunchTemplate").Properties.LaunchTemplateData as { UserData: unknown };
    const userData = renderJoin((data.UserData as { "Fn::Base64": unknown })["Fn::Base64"]);
    const sha256 = createHash("sha256").update(FIXTURE_BOOT_SCRIPT).digest("hex");
    assert.match(userData, /^export ETCD_ASG_NODE_API_URL='<\w+NodeApiFunctionUrl\w+\.FunctionUrl>'$/m);
    assert.match(userData, /^export ETCD_ASG_ETCD_VERSION='3\.5\.21'$/m);
    assert.match(
      userData,
      /^export ETCD_ASG_ETCD_SHA256='95bf6918623a097c0385b96f139d90248614485e781ec9bee4768dbb6c79c53f'$/m,
    );
    assert.match(userData, /^BOOT_SCRIPT_BUCKET='cdk-hnb659fds-assets-123456789012-us-east-1'$/m);
    assert.match(userData, /^BOOT_SCRIPT_KEY='[0-9a-f]{64}\.sh'$/m);
    assert.match(userData, new RegExp(`^BOOT_SCRIPT_SHA256='${sha256}'$`, "m"));
    assert.doesNotMatch(userData, /@[A-Z_]+@/, "every placeholder is filled in");
    const main =
      /^main\(\) \{\n {2}mount_data_volume\n {2}fetch_boot_script (\S+)\n {2}run_boot_script (\S+)\n\}$/m.exec(
        userData,
      );
    assert.ok(main, "mounts, then fetches and installs the boot script, then runs it");
    assert.equal(main[1], main[2]);
    assert.match(
      userData,
      /^ {2}ETCD_ASG_IMDS_TOKEN=\$IMDS_SESSION ETCD_ASG_ROLE_CREDENTIALS=\$ROLE_CREDENTIALS exec "\$1" -o start$/m,
    );
    assert.ok(userData.includes("mkfs.xfs"), "formats a blank volume");
  });
});

describe("security groups", () => {
  const nodeGroup = () => ({
    "Fn::GetAtt": [logicalId("AWS::EC2::SecurityGroup", "NodeSecurityGroup"), "GroupId"],
  });
  const lambdaGroup = () => ({
    "Fn::GetAtt": [logicalId("AWS::EC2::SecurityGroup", "LambdaSecurityGroup"), "GroupId"],
  });

  test("admit 2380 only from the node group, and 2379 only from the node group and the Lambdas", () => {
    const nodes = logicalId("AWS::EC2::SecurityGroup", "NodeSecurityGroup");
    const lambdas = logicalId("AWS::EC2::SecurityGroup", "LambdaSecurityGroup");
    assert.deepEqual(ingressRules(template, nodes), [
      `tcp 2379 from ${lambdas}`,
      `tcp 2379 from ${nodes}`,
      `tcp 2380 from ${nodes}`,
    ]);
    assert.deepEqual(ingressRules(template, lambdas), []);
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
  const GROUP_ARN =
    "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/EtcdAsg-Cluster";
  const getAtt = (type: string, fragment: string, attribute = "Arn") => ({
    "Fn::GetAtt": [logicalId(type, fragment), attribute],
  });
  const describePolicy = () => logicalId("AWS::IAM::ManagedPolicy", "DescribeGroupAndInstances");
  const networkInterfacePolicy = () => logicalId("AWS::IAM::ManagedPolicy", "NetworkInterfacesInTheVpc");

  for (const name of MEMBERSHIP_FUNCTIONS) {
    test(`gives ${name} its own role: this group's lifecycle actions, its own logs, the ledger${name === "reconciler" ? ", the health of its instances" : ""}`, () => {
      const role = functionRole(name);
      assert.deepEqual(inlineStatements(role), [
        {
          Sid: "CompleteLifecycleActionsOfThisGroup",
          Effect: "Allow",
          Action: ["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"],
          Resource: GROUP_ARN,
        },
        {
          Sid: "WriteOwnLogs",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: getAtt("AWS::Logs::LogGroup", `ControlPlane${pascal(name)}Logs`),
        },
        {
          Sid: "ReadWriteLedger",
          Effect: "Allow",
          Action: [
            "dynamodb:BatchGetItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:Scan",
            "dynamodb:UpdateItem",
          ],
          Resource: getAtt("AWS::DynamoDB::Table", "Ledger"),
        },
        // Only the node API reads snapshots: it presigns the GET a restoring node downloads.
        ...(name === "node-api"
          ? [
              {
                Sid: "PresignSnapshotDownloads",
                Effect: "Allow",
                Action: "s3:GetObject",
                Resource: {
                  "Fn::Join": ["", [getAtt("AWS::S3::Bucket", "Snapshots"), "/EtcdAsg-Cluster/*"]],
                },
              },
            ]
          : []),
        // Only the reconciler replaces an instance: one whose member was removed while in service.
        ...(name === "reconciler"
          ? [
              {
                Sid: "ReplaceInstancesOfThisGroup",
                Effect: "Allow",
                Action: "autoscaling:SetInstanceHealth",
                Resource: GROUP_ARN,
              },
            ]
          : []),
      ]);
      assert.deepEqual(role.Properties.ManagedPolicyArns, [
        { Ref: describePolicy() },
        { Ref: networkInterfacePolicy() },
      ]);
      // Lambda sends a failed asynchronous invocation to the function's dead-letter queue itself,
      // with the function's role: only the two lifecycle functions have one.
      // The client name's statements: see "client name".
      const attached = attachedStatements(functionRoleId(name)).filter(
        (st) => !String(st.Sid).includes("ClientName"),
      );
      // The reconciler's recovery step asks the snapshot function to copy a surviving member.
      assert.deepEqual(
        attached,
        name === "launch-hook" || name === "terminate-hook"
          ? [
              {
                Effect: "Allow",
                Action: "sqs:SendMessage",
                Resource: getAtt("AWS::SQS::Queue", "DeadLetterQueue"),
              },
            ]
          : name === "reconciler"
            ? [
                {
                  Sid: "AskForSnapshots",
                  Effect: "Allow",
                  Action: "lambda:InvokeFunction",
                  Resource: { "Fn::GetAtt": [functionId("snapshot"), "Arn"] },
                },
              ]
            : [],
      );
    });
  }

  test("gives client-cert its own role: its own logs, reading and publishing the CA certificates in the ledger, and nothing of the group", () => {
    const role = functionRole("client-cert");
    assert.deepEqual(inlineStatements(role), [
      {
        Sid: "WriteOwnLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: getAtt("AWS::Logs::LogGroup", "ControlPlaneClientCertLogs"),
      },
      {
        Sid: "ReadAndPublishCaCertificates",
        Effect: "Allow",
        Action: ["dynamodb:GetItem", "dynamodb:PutItem"],
        Resource: getAtt("AWS::DynamoDB::Table", "Ledger"),
      },
    ]);
    // The network interfaces Lambda needs in the VPC; not the Describe policy (no group, no instances).
    assert.deepEqual(role.Properties.ManagedPolicyArns, [{ Ref: networkInterfacePolicy() }]);
    assert.deepEqual(attachedStatements(functionRoleId("client-cert")), []);
  });

  test("holds the Describe actions on * in a policy of their own, and nothing else", () => {
    assert.deepEqual(managedPolicyStatements(describePolicy()), [
      {
        Sid: "DescribeGroupAndInstances",
        Effect: "Allow",
        Action: ["autoscaling:DescribeAutoScalingGroups", "ec2:DescribeInstances"],
        Resource: "*",
      },
    ]);
  });

  test("holds Lambda's VPC network-interface actions on * in a policy of their own, and nothing else", () => {
    assert.deepEqual(managedPolicyStatements(networkInterfacePolicy()), [
      {
        Sid: "NetworkInterfacesInTheVpc",
        Effect: "Allow",
        Action: [
          "ec2:AssignPrivateIpAddresses",
          "ec2:CreateNetworkInterface",
          "ec2:DeleteNetworkInterface",
          "ec2:DescribeNetworkInterfaces",
          "ec2:DescribeSubnets",
          "ec2:UnassignPrivateIpAddresses",
        ],
        Resource: "*",
      },
    ]);
  });

  test("grants a wildcard nowhere else: no role or policy in the template, CDK's own included", () => {
    const wildcards: string[] = [];
    const collect = (owner: string, statements: Statement[]) => {
      for (const statement of statements.filter((s) => s.Effect === "Allow")) {
        const actions = [statement.Action].flat().map(String);
        const targets = [statement.Resource].flat().map(renderJoin);
        if ([...actions, ...targets].some((x) => x.includes("*"))) {
          wildcards.push(`${owner}: ${actions.join(", ")} on ${targets.join(", ")}`);
        }
      }
    };
    for (const [id, role] of Object.entries(resources("AWS::IAM::Role"))) {
      collect(id, inlineStatements(role));
    }
    for (const type of ["AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"]) {
      for (const [id, policy] of Object.entries(resources(type))) {
        collect(id, (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
      }
    }
    const lifecycle = "autoscaling:CompleteLifecycleAction, autoscaling:RecordLifecycleActionHeartbeat";
    assert.deepEqual(
      wildcards.sort(),
      [
        `${describePolicy()}: autoscaling:DescribeAutoScalingGroups, ec2:DescribeInstances on *`,
        `${networkInterfacePolicy()}: ec2:AssignPrivateIpAddresses, ec2:CreateNetworkInterface, ` +
          "ec2:DeleteNetworkInterface, ec2:DescribeNetworkInterfaces, ec2:DescribeSubnets, " +
          "ec2:UnassignPrivateIpAddresses on *",
        ...MEMBERSHIP_FUNCTIONS.map((name) => `${functionRoleId(name)}: ${lifecycle} on ${GROUP_ARN}`),
        `${functionRoleId("reconciler")}: autoscaling:SetInstanceHealth on ${GROUP_ARN}`,
        `${logicalId("AWS::IAM::Role", "SuspendAzRebalanceRole")}: autoscaling:SuspendProcesses on ${GROUP_ARN}`,
        `${functionRoleId("snapshot")}: s3:AbortMultipartUpload, s3:DeleteObject, s3:GetObject, ` +
          `s3:GetObjectTagging, s3:PutObject, s3:PutObjectTagging on <${logicalId("AWS::S3::Bucket", "Snapshots")}.Arn>/EtcdAsg-Cluster/*`,
        `${functionRoleId("node-api")}: s3:GetObject on <${logicalId("AWS::S3::Bucket", "Snapshots")}.Arn>/EtcdAsg-Cluster/*`,
      ].sort(),
    );
  });

  test("suspends AZRebalance with a role for this group and its own logs only", () => {
    const role = resource("AWS::IAM::Role", logicalId("AWS::IAM::Role", "SuspendAzRebalanceRole"));
    assert.deepEqual(inlineStatements(role), [
      { Effect: "Allow", Action: "autoscaling:SuspendProcesses", Resource: GROUP_ARN },
      {
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: getAtt("AWS::Logs::LogGroup", "SuspendAzRebalanceLogs"),
      },
    ]);
    assert.equal(role.Properties.ManagedPolicyArns, undefined);
  });

  test("lets the nodes invoke the node API's URL and read their boot script, and nothing else", () => {
    const nodeApiArn = { "Fn::GetAtt": [functionId("node-api"), "Arn"] };
    const statements = attachedStatements(logicalId("AWS::IAM::Role", "NodeRole"));
    assert.deepEqual(statements.slice(0, 2), [
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
    ]);
    const read = statements[2];
    assert.equal(statements.length, 3);
    assert.equal(read?.Sid, "ReadTheBootScript");
    assert.equal(read?.Action, "s3:GetObject");
    assert.match(
      renderJoin(read?.Resource),
      /^arn:aws:s3:::cdk-hnb659fds-assets-123456789012-us-east-1\/[0-9a-f]{64}\.sh$/,
    );
    const nodeRole = resources("AWS::IAM::Role")[logicalId("AWS::IAM::Role", "NodeRole")];
    assert.equal(nodeRole?.Properties.ManagedPolicyArns, undefined);
    assert.equal(nodeRole?.Properties.Policies, undefined);
  });

  test("attaches no AWS managed policy to any of its roles", () => {
    for (const [id, role] of Object.entries(resources("AWS::IAM::Role"))) {
      // CDK's own provider for the VPC's default security group: AWSLambdaBasicExecutionRole.
      if (id.startsWith("CustomVpcRestrictDefaultSG")) continue;
      for (const arn of (role.Properties.ManagedPolicyArns as unknown[] | undefined) ?? []) {
        assert.doesNotMatch(renderJoin(arn), /:iam::aws:policy\//, `${id} has an AWS managed policy`);
      }
    }
  });
});

describe("certificate authorities", () => {
  const ROOT = "arn:aws:iam::123456789012:root";
  const keyPolicy = (ca: "Peer" | "Client"): KeyStatement[] =>
    (
      resource("AWS::KMS::Key", logicalId("AWS::KMS::Key", `${ca}CaKey`)).Properties.KeyPolicy as {
        Statement: KeyStatement[];
      }
    ).Statement;
  const roleArn = (name: string) => ({ "Fn::GetAtt": [functionRoleId(name), "Arn"] });
  /** The principals an Allow statement of the key policy lets call `action`, wildcards expanded. */
  const allowed = (ca: "Peer" | "Client", action: string): unknown[] =>
    keyPolicy(ca)
      .filter((s) => s.Effect === "Allow" && [s.Action].flat().some((a) => actionMatches(a, action)))
      .flatMap((s) => [s.Principal.AWS].flat());

  test("keeps each CA's private key in KMS: one ECC_NIST_P256 signing key per CA", () => {
    template.resourceCountIs("AWS::KMS::Key", 2);
    for (const ca of ["Peer", "Client"]) {
      const key = resource("AWS::KMS::Key", logicalId("AWS::KMS::Key", `${ca}CaKey`));
      assert.equal(key.Properties.KeySpec, "ECC_NIST_P256", ca);
      assert.equal(key.Properties.KeyUsage, "SIGN_VERIFY", ca);
      assert.match(
        String(key.Properties.Description),
        new RegExp(`${ca.toLowerCase()} certificate authority`),
      );
      // Scheduled for deletion with the stack: a new stack starts a new ledger and new CAs.
      assert.equal(key.DeletionPolicy, "Delete", ca);
    }
  });

  test("lets only the node API sign with the peer CA's key, and only the control-plane functions with the client CA's", () => {
    assert.deepEqual(allowed("Peer", "kms:Sign"), [roleArn("node-api")]);
    assert.deepEqual(
      sortJson(allowed("Client", "kms:Sign")),
      sortJson(FUNCTION_NAMES.map((name) => roleArn(name))),
    );
    // The signers may sign, read the public key (for the CA certificate) and describe the key: no more.
    for (const ca of ["Peer", "Client"] as const) {
      const signing = keyPolicy(ca).filter((s) => s.Sid === "SignCertificates");
      assert.equal(signing.length, 1, ca);
      assert.deepEqual(signing[0]?.Action, ["kms:DescribeKey", "kms:GetPublicKey", "kms:Sign"], ca);
    }
  });

  test("gives the account neither kms:Sign nor kms:* nor kms:CreateGrant, so no identity policy or grant can open a CA key", () => {
    for (const ca of ["Peer", "Client"] as const) {
      const statements = keyPolicy(ca);
      const account = statements.filter((s) => [s.Principal.AWS].flat().includes(ROOT));
      assert.deepEqual(
        account.map((s) => s.Sid),
        ["AdministerButNotUse"],
        `${ca}: the account administers the key`,
      );
      for (const statement of statements) {
        assert.equal(statement.Effect, "Allow", `${ca} ${statement.Sid}`);
        assert.deepEqual(
          Object.keys(statement.Principal),
          ["AWS"],
          `${ca} ${statement.Sid}: named principals only`,
        );
        assert.ok(!("NotAction" in statement) && !("NotPrincipal" in statement), `${ca} ${statement.Sid}`);
      }
      for (const action of ["kms:Sign", "kms:CreateGrant", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"]) {
        const principals = allowed(ca, action);
        if (action === "kms:Sign") {
          assert.ok(!principals.includes(ROOT), `${ca}: the account may not sign`);
        } else if (action === "kms:CreateGrant") {
          assert.deepEqual(principals, [], `${ca}: nobody may grant the key's use to another principal`);
        } else {
          assert.deepEqual(principals, [ROOT], `${ca}: the account administers ${action}`);
        }
      }
      for (const statement of account) {
        for (const pattern of [statement.Action].flat()) {
          assert.ok(pattern !== "*" && pattern !== "kms:*", `${ca}: the account is given ${pattern}`);
        }
      }
    }
  });

  test("grants no KMS action in any identity policy: the key policies alone say who signs", () => {
    const kmsActions: string[] = [];
    for (const [id, role] of Object.entries(resources("AWS::IAM::Role"))) {
      for (const statement of inlineStatements(role)) {
        kmsActions.push(...[statement.Action].flat().map((a) => `${id}: ${String(a)}`));
      }
    }
    for (const type of ["AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"]) {
      for (const [id, policy] of Object.entries(resources(type))) {
        for (const statement of (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement) {
          kmsActions.push(...[statement.Action].flat().map((a) => `${id}: ${String(a)}`));
        }
      }
    }
    assert.deepEqual(
      kmsActions.filter((a) => /: (kms:|\*$)/i.test(a)),
      [],
    );
  });
});

describe("Lambdas", () => {
  const environment = (name: string): Record<string, unknown> =>
    (
      resource("AWS::Lambda::Function", functionId(name)).Properties.Environment as {
        Variables: Record<string, unknown>;
      }
    ).Variables;

  for (const name of FUNCTION_NAMES) {
    test(`${name} runs Node 24 on arm64 from its bundle, with the memory the cold-start bench gives it, tagged with its name, in the VPC's private subnets, with its own role`, () => {
      const fn = resource("AWS::Lambda::Function", functionId(name));
      assert.equal(fn.Properties.Runtime, "nodejs24.x");
      assert.equal(fn.Properties.MemorySize, functionMemoryMb(name));
      assert.deepEqual(fn.Properties.Tags, [{ Key: "etcd-asg:function", Value: name }]);
      assert.deepEqual(fn.Properties.Architectures, ["arm64"]);
      assert.equal(fn.Properties.Handler, "lib/index.handler");
      assert.deepEqual(fn.Properties.Role, { "Fn::GetAtt": [functionRoleId(name), "Arn"] });
      const vpcConfig = fn.Properties.VpcConfig as {
        SubnetIds: { Ref: string }[];
        SecurityGroupIds: unknown[];
      };
      assert.deepEqual(
        vpcConfig.SubnetIds.map((s) => s.Ref.replace(/Subnet[0-9A-F]{8}$/, "")),
        [1, 2, 3].map((n) => `ClusterNetworkVpcprivateSubnet${n}`),
      );
      assert.deepEqual(vpcConfig.SecurityGroupIds, [
        { "Fn::GetAtt": [logicalId("AWS::EC2::SecurityGroup", "LambdaSecurityGroup"), "GroupId"] },
      ]);
    });

    test(`${name} is told this group, its hooks, the ledger, the cluster size, the strategy, the node role, the CA keys and the certificate lifetime`, () => {
      assert.deepEqual(environment(name), {
        CLUSTER_NAME: "EtcdAsg-Cluster",
        ASG_NAME: "EtcdAsg-Cluster",
        LEDGER_TABLE: { Ref: logicalId("AWS::DynamoDB::Table", "Ledger") },
        CLUSTER_SIZE: "3",
        JOIN_STRATEGY: "replace",
        LAUNCH_HOOK_NAME: "etcd-asg-launch",
        TERMINATE_HOOK_NAME: "etcd-asg-terminate",
        ETCD_CLIENT_PORT: "2379",
        ETCD_PEER_PORT: "2380",
        INSTANCE_ROLE_ARN: { "Fn::GetAtt": [logicalId("AWS::IAM::Role", "NodeRole"), "Arn"] },
        PEER_CA_KEY_ARN: { "Fn::GetAtt": [logicalId("AWS::KMS::Key", "PeerCaKey"), "Arn"] },
        CLIENT_CA_KEY_ARN: { "Fn::GetAtt": [logicalId("AWS::KMS::Key", "ClientCaKey"), "Arn"] },
        // Seven days, the default certificateLifetime.
        NODE_CERTIFICATE_LIFETIME_SECONDS: "604800",
        // The default 20 GiB data volume; a defragmentation bounded to fit in the reconciler's pass.
        DATA_VOLUME_GIB: "20",
        DEFRAG_TIMEOUT_SECONDS: "30",
        // Three minutes, the default healthGracePeriod.
        HEALTH_GRACE_SECONDS: "180",
        // The defaults of disasterRecovery and quorumLossThreshold (five minutes).
        DISASTER_RECOVERY: "automatic",
        QUORUM_LOSS_THRESHOLD_SECONDS: "300",
        POWERTOOLS_SERVICE_NAME: "etcd-asg",
        POWERTOOLS_LOG_LEVEL: "INFO",
        CLIENT_DNS_NAME: "etcd.etcdasg-cluster.etcd.internal",
        ...(["node-api", "terminate-hook", "reconciler"].includes(name)
          ? { HOSTED_ZONE_ID: { Ref: logicalId("AWS::Route53::HostedZone", "ClientEndpoint") } }
          : {}),
        ...(name === "snapshot"
          ? {
              SNAPSHOT_BUCKET: { Ref: logicalId("AWS::S3::Bucket", "Snapshots") },
              SNAPSHOT_INTERVAL_SECONDS: "1800",
              SNAPSHOT_RETENTION: "3600:604800,86400:7776000",
            }
          : {}),
        // Recovery: the node API presigns a restoring node's GET; the reconciler asks for copies.
        ...(name === "node-api"
          ? { SNAPSHOT_BUCKET: { Ref: logicalId("AWS::S3::Bucket", "Snapshots") } }
          : {}),
        ...(name === "reconciler" ? { SNAPSHOT_FUNCTION_NAME: { Ref: functionId("snapshot") } } : {}),
      });
    });

    test(`${name}'s environment passes the control plane's own configuration check`, () => {
      // As CloudFormation will render it: the table's name, the role's and the keys' ARNs in their
      // real shapes.
      const rendered = Object.fromEntries(
        Object.entries(environment(name)).map(([key, value]) => [key, renderAttribute(value)]),
      );
      const config = loadConfig(rendered);
      assert.equal(config.asgName, "EtcdAsg-Cluster");
      assert.equal(config.policy.clusterSize, 3);
      assert.equal(config.instanceRoleArn, rendered.INSTANCE_ROLE_ARN);
      assert.equal(config.pki.peerCaKeyArn, rendered.PEER_CA_KEY_ARN);
      assert.equal(config.pki.clientCaKeyArn, rendered.CLIENT_CA_KEY_ARN);
      assert.notEqual(config.pki.peerCaKeyArn, config.pki.clientCaKeyArn);
      assert.equal(config.pki.nodeCertificateLifetimeMs, 7 * 24 * 3600 * 1000);
    });
  }

  /** A Ref or Fn::GetAtt Arn as CloudFormation resolves it, by the type of the resource it names. */
  const renderAttribute = (value: unknown): string => {
    if (typeof value === "string") return value;
    const { Ref: ref, "Fn::GetAtt": getAtt } = value as { Ref?: string; "Fn::GetAtt"?: [string, string] };
    const id = ref ?? getAtt?.[0] ?? "";
    const type = template.toJSON().Resources[id]?.Type;
    const suffix = createHash("sha256").update(id).digest("hex").slice(0, 12);
    if (type === "AWS::DynamoDB::Table" && ref !== undefined) return `EtcdAsg-${id}-${suffix}`;
    if (type === "AWS::Route53::HostedZone" && ref !== undefined) return `Z${suffix.toUpperCase()}`;
    if (type === "AWS::S3::Bucket" && ref !== undefined) return `etcdasg-${id}-${suffix}`.toLowerCase();
    if (type === "AWS::Lambda::Function" && ref !== undefined) return `EtcdAsg-${id}-${suffix}`.slice(0, 64);
    if (type === "AWS::IAM::Role" && getAtt?.[1] === "Arn") {
      return `arn:aws:iam::123456789012:role/EtcdAsg-${id}-${suffix}`;
    }
    if (type === "AWS::KMS::Key" && getAtt?.[1] === "Arn") {
      const uuid = `${suffix.slice(0, 8)}-${suffix.slice(8, 12)}-4000-8000-${suffix.padEnd(12, "0")}`;
      return `arn:aws:kms:us-east-1:123456789012:key/${uuid}`;
    }
    assert.fail(`no rendering for ${JSON.stringify(value)} (${type})`);
  };

  test("serialise the membership-changing functions with a reserved concurrency of 1", () => {
    for (const name of ["launch-hook", "terminate-hook", "reconciler"]) {
      assert.equal(
        resource("AWS::Lambda::Function", functionId(name)).Properties.ReservedConcurrentExecutions,
        1,
        name,
      );
    }
  });

  test("reserve the node API twice the cluster size and client-cert two executions", () => {
    // Every node of a full cluster may hold a call at once, with room for as many replacements;
    // users cannot take the account's concurrency, or the client CA's signatures, without bound.
    const reserved = (name: string) =>
      resource("AWS::Lambda::Function", functionId(name)).Properties.ReservedConcurrentExecutions;
    assert.equal(reserved("node-api"), 6);
    assert.equal(reserved("client-cert"), 2);
  });

  test("serve the node API on a function URL with IAM auth", () => {
    template.hasResourceProperties("AWS::Lambda::Url", {
      AuthType: "AWS_IAM",
      TargetFunctionArn: { "Fn::GetAtt": [functionId("node-api"), "Arn"] },
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
          ...(hook === "launch"
            ? [Match.objectLike({ Arn: { "Fn::GetAtt": [functionId("node-api"), "Arn"] } })]
            : []),
        ],
      });
      const fn = resource("AWS::Lambda::Function", functionId(name));
      assert.deepEqual(fn.Properties.DeadLetterConfig, { TargetArn: dlqArn() });
      assert.equal(fn.Properties.Timeout, 60);
      // Lambda retries a failed asynchronous invocation twice, then sends it to the queue.
      assert.equal(invokeConfig(name).MaximumRetryAttempts, 2);
    });
  }

  test("sends the node API the warm-up input on each launch, once, without a dead-letter queue", () => {
    const launchRule = logicalId("AWS::Events::Rule", "LaunchRule");
    const targets = resource("AWS::Events::Rule", launchRule).Properties.Targets as Record<string, unknown>[];
    const warm = targets.find(
      (t) => JSON.stringify(t.Arn) === JSON.stringify({ "Fn::GetAtt": [functionId("node-api"), "Arn"] }),
    );
    assert.deepEqual(
      { Input: warm?.Input, RetryPolicy: warm?.RetryPolicy, DeadLetterConfig: warm?.DeadLetterConfig },
      {
        Input: JSON.stringify(NODE_API_WARM_UP_INPUT),
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        DeadLetterConfig: undefined,
      },
    );
    template.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      FunctionName: { "Fn::GetAtt": [functionId("node-api"), "Arn"] },
      Principal: "events.amazonaws.com",
      SourceArn: { "Fn::GetAtt": [launchRule, "Arn"] },
    });
  });

  test("runs the reconciler every minute, with retries and the dead-letter queue", () => {
    // A pass that fails is not retried by Lambda: the next one a minute later does the same work.
    assert.equal(
      resource("AWS::Lambda::Function", functionId("reconciler")).Properties.DeadLetterConfig,
      undefined,
    );
    assert.deepEqual(invokeConfig("reconciler"), {
      FunctionName: { Ref: functionId("reconciler") },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
      Qualifier: "$LATEST",
    });
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
  test("gives no subnet a public IP on launch: the public ones hold only the NAT gateway", () => {
    const subnets = Object.entries(resources("AWS::EC2::Subnet"));
    assert.equal(subnets.length, 6);
    for (const [id, subnet] of subnets) {
      assert.equal(subnet.Properties.MapPublicIpOnLaunch, false, id);
    }
  });

  test("gives the private subnets NAT and a DynamoDB gateway endpoint", () => {
    template.resourceCountIs("AWS::EC2::NatGateway", 1);
    template.hasResourceProperties("AWS::EC2::VPCEndpoint", {
      VpcEndpointType: "Gateway",
      ServiceName: Match.objectLike({ "Fn::Join": ["", Match.arrayWith([".dynamodb"])] }),
    });
  });
});

describe("alarms and outputs", () => {
  for (const metricName of [
    "QuorumAtRisk",
    "MembershipDrift",
    "LifecycleActionFailures",
    "EtcdAlarmNospace",
    "EtcdAlarmCorrupt",
    "QuorumLost",
    "RecoveryNeedsOperator",
  ]) {
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

  test("alarm when the reconciler fails most of its passes for 15 minutes", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/Lambda",
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: functionId("reconciler") } }],
      Statistic: "Sum",
      Period: 300,
      Threshold: 3,
      EvaluationPeriods: 3,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      TreatMissingData: "notBreaching",
      AlarmActions: [{ Ref: logicalId("AWS::SNS::Topic", "AlarmTopic") }],
      OKActions: [{ Ref: logicalId("AWS::SNS::Topic", "AlarmTopic") }],
    });
  });

  test("alarm when the client name's records fail to sync most of the time for 15 minutes", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "EtcdAsg",
      MetricName: "ClientEndpointFailures",
      Dimensions: [{ Name: "ClusterName", Value: "EtcdAsg-Cluster" }],
      Statistic: "Sum",
      Period: 300,
      Threshold: 3,
      EvaluationPeriods: 3,
      AlarmActions: [{ Ref: logicalId("AWS::SNS::Topic", "AlarmTopic") }],
      OKActions: [{ Ref: logicalId("AWS::SNS::Topic", "AlarmTopic") }],
    });
  });

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

  test("output the group, the ledger, the node API URL, the client-certificate function and a command that lists the client URLs", () => {
    template.hasOutput("AutoScalingGroupName", { Value: "EtcdAsg-Cluster" });
    template.hasOutput("ClientCertFunctionName", {
      Value: { Ref: functionId("client-cert") },
      Description: Match.stringLikeRegexp("npx etcd-asg client-cert"),
    });
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

describe("client name", () => {
  const NAME = "etcd.etcdasg-cluster.etcd.internal";
  const zoneId = () => logicalId("AWS::Route53::HostedZone", "ClientEndpoint");

  test("creates a private hosted zone in the cluster's VPC and outputs the name and the zone", () => {
    template.hasResourceProperties("AWS::Route53::HostedZone", {
      Name: "etcdasg-cluster.etcd.internal.",
      VPCs: [{ VPCId: { Ref: Match.stringLikeRegexp("NetworkVpc") }, VPCRegion: "us-east-1" }],
    });
    template.hasOutput("ClientDnsName", {
      Value: NAME,
      Description: Match.stringLikeRegexp("--discovery-srv"),
    });
    template.hasOutput("HostedZoneId", { Value: { Ref: zoneId() } });
  });

  test("tells every function the name, and the zone to the three whose flows keep its records", () => {
    for (const name of FUNCTION_NAMES) {
      const env = (
        resource("AWS::Lambda::Function", functionId(name)).Properties.Environment as {
          Variables: Record<string, unknown>;
        }
      ).Variables;
      assert.equal(env.CLIENT_DNS_NAME, NAME, name);
      const keeps = ["node-api", "terminate-hook", "reconciler"].includes(name);
      assert.deepEqual(env.HOSTED_ZONE_ID, keeps ? { Ref: zoneId() } : undefined, name);
    }
  });

  test("lets the keepers list the zone and change only A and SRV records at and under the name", () => {
    const zoneArn = { "Fn::Join": ["", ["arn:aws:route53:::hostedzone/", { Ref: zoneId() }]] };
    for (const name of FUNCTION_NAMES) {
      const statements = attachedStatements(functionRoleId(name)).filter((st) =>
        String(st.Sid).includes("ClientName"),
      );
      if (!["node-api", "terminate-hook", "reconciler"].includes(name)) {
        assert.deepEqual(statements, [], name);
        continue;
      }
      assert.deepEqual(statements, [
        {
          Sid: "ReadClientNameRecords",
          Effect: "Allow",
          Action: "route53:ListResourceRecordSets",
          Resource: zoneArn,
        },
        {
          Sid: "KeepClientNameRecords",
          Effect: "Allow",
          Action: "route53:ChangeResourceRecordSets",
          Resource: zoneArn,
          Condition: {
            "ForAllValues:StringEquals": {
              "route53:ChangeResourceRecordSetsRecordTypes": ["A", "SRV"],
              "route53:ChangeResourceRecordSetsActions": ["UPSERT", "DELETE"],
            },
            "ForAllValues:StringLike": {
              "route53:ChangeResourceRecordSetsNormalizedRecordNames": [NAME, `*.${NAME}`],
            },
          },
        },
      ]);
    }
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

type Statement = { Sid?: string; Effect: string; Action: unknown; Resource: unknown };
type KeyStatement = Statement & { Principal: { AWS?: unknown } };

/** Whether an IAM action pattern (`kms:Get*`, `kms:*`, `*`) covers the action; IAM ignores case. */
function actionMatches(pattern: unknown, action: string): boolean {
  const regex = String(pattern)
    .split("")
    .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${regex}$`, "i").test(action);
}

function sortJson(values: unknown[]): string[] {
  return values.map((v) => JSON.stringify(v)).sort();
}

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, _d, l: string) => l.toUpperCase());
}

function functionRoleId(name: string): string {
  return logicalId("AWS::IAM::Role", `ControlPlane${pascal(name)}Role`);
}

function functionRole(name: string): Resource {
  return resource("AWS::IAM::Role", functionRoleId(name));
}

function inlineStatements(role: Resource): Statement[] {
  const policies = (role.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[];
  return policies.flatMap((p) => p.PolicyDocument.Statement);
}

/** Statements of the separate AWS::IAM::Policy resources attached to the role. */
function attachedStatements(roleId: string): Statement[] {
  return Object.values(resources("AWS::IAM::Policy"))
    .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

function managedPolicyStatements(id: string): Statement[] {
  return (resource("AWS::IAM::ManagedPolicy", id).Properties.PolicyDocument as { Statement: Statement[] })
    .Statement;
}

function invokeConfig(name: string): Record<string, unknown> {
  const configs = Object.values(resources("AWS::Lambda::EventInvokeConfig")).filter(
    (c) => JSON.stringify(c.Properties.FunctionName) === JSON.stringify({ Ref: functionId(name) }),
  );
  assert.equal(configs.length, 1, `one EventInvokeConfig for ${name}`);
  return (configs[0] as Resource).Properties;
}
