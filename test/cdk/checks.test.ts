// The field's own checkers on the synthesized stack: cdk-nag's AwsSolutions, Serverless and NIST
// 800-53 R5 packs (the three the app runs at synth) find nothing that is not acknowledged, each
// acknowledgement sits on the one resource whose finding it answers and gives its reason, and each
// pack still finds what is new (a wildcard on any role, a function on an old runtime or without a
// dead-letter queue, an AWS managed policy, a queue, table, log group, topic, route or subnet the
// acknowledgements do not name); cfn-lint finds no error and no warning (scripts/cfn-lint, which
// says "skipped" when cfn-lint is not installed).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { App, Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sns from "aws-cdk-lib/aws-sns";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { AwsSolutionsChecks, type NagPack, NIST80053R5Checks, ServerlessChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { EtcdCluster } from "../../cdk/lib/etcd-cluster";
import {
  build,
  cdkJsonContext,
  type Fixture,
  makeFixture,
  type Synthesized,
  synthesize,
} from "./synth-fixture";

const CFN_LINT = path.resolve(__dirname, "..", "..", "scripts", "cfn-lint");
const GROUP_ARN =
  "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/EtcdAsg-Cluster";
const CONTROL_PLANE = "EtcdAsg/Cluster/ControlPlane";
/** The functions whose roles complete this group's lifecycle actions (by its ARN). */
const MEMBERSHIP_FUNCTIONS = ["LaunchHook", "TerminateHook", "Reconciler", "NodeApi"] as const;
const FUNCTIONS = [...MEMBERSHIP_FUNCTIONS, "ClientCert", "Snapshot"] as const;
const SNAPSHOTS = `${CONTROL_PLANE}/Snapshots/Resource`;
/** CDK's AwsCustomResource provider (AZRebalance), a singleton at the stack's root. */
const DEPLOY_TIME_FUNCTION = "EtcdAsg/AWS679f53fac002430cb0da5b7982bd2287/Resource";
const PACKS = {
  AwsSolutions: () => new AwsSolutionsChecks(),
  Serverless: () => new ServerlessChecks(),
  "NIST.800.53.R5": () => new NIST80053R5Checks(),
} satisfies Record<string, () => NagPack>;
type Pack = keyof typeof PACKS;
const PACK_NAMES = Object.keys(PACKS) as Pack[];

let fixture: Fixture;
let synthesized: Synthesized;

before(() => {
  fixture = makeFixture();
  synthesized = synthesize(fixture);
});
after(() => fixture.remove());

/** `<rule finding> <construct path>` for every unacknowledged finding of the pack under the scope. */
function nagFindings(scope: IConstruct, pack: Pack = "AwsSolutions"): string[] {
  const report = PACKS[pack]().validateScope(scope);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`),
  );
}

/** `<rule finding> <construct path>` and its reason, for every acknowledgement of the pack's rules. */
function acknowledgements(scope: IConstruct, pack: Pack): { at: string; reason: string }[] {
  return scope.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .map(([id, reason]) => ({ id: id.replace(/^Annotation::/, ""), reason }))
      .filter(({ id }) => id.startsWith(`${pack}-`))
      .map(({ id, reason }) => ({ at: `${id} ${c.node.path}`, reason })),
  );
}

for (const pack of PACK_NAMES) {
  test(`cdk-nag ${pack} reports no unacknowledged finding`, () => {
    assert.deepEqual(nagFindings(synthesized.app, pack), []);
  });
}

/** What each pack's acknowledgements are: reviewed one by one, each answered in nag-acknowledgements.ts. */
const ACKNOWLEDGED: Record<Pack, string[]> = {
  AwsSolutions: [
    `AwsSolutions-IAM5[Resource::*] ${CONTROL_PLANE}/DescribeGroupAndInstances/Resource`,
    `AwsSolutions-IAM5[Resource::*] ${CONTROL_PLANE}/NetworkInterfacesInTheVpc/Resource`,
    ...MEMBERSHIP_FUNCTIONS.map(
      (f) => `AwsSolutions-IAM5[Resource::${GROUP_ARN}] ${CONTROL_PLANE}/${f}Role/Resource`,
    ),
    `AwsSolutions-IAM5[Resource::${GROUP_ARN}] EtcdAsg/Cluster/SuspendAzRebalanceRole/Resource`,
    // The snapshot and node-API roles reach the cluster's key prefix in its bucket; the bucket logs no access.
    ...["SnapshotRole", "NodeApiRole"].map(
      (role) =>
        `AwsSolutions-IAM5[Resource::<ClusterControlPlaneSnapshotsB0A3A788.Arn>/EtcdAsg-Cluster/*] ${CONTROL_PLANE}/${role}/Resource`,
    ),
    `AwsSolutions-S1 ${SNAPSHOTS}`,
  ],
  Serverless: [
    // Failed events go to the function's dead-letter queue already; a failed pass is redone.
    ...["LaunchHook", "TerminateHook", "Reconciler", "Snapshot"].map(
      (f) => `Serverless-LambdaAsyncFailureDestination ${CONTROL_PLANE}/${f}/EventInvokeConfig/Resource`,
    ),
    // Synchronous or best effort (node API), synchronous only (client-cert), a pass redone a minute
    // later, CloudFormation's call.
    ...["NodeApi", "ClientCert", "Reconciler"].map(
      (f) => `Serverless-LambdaDLQ ${CONTROL_PLANE}/${f}/Resource`,
    ),
    `Serverless-LambdaDLQ ${DEPLOY_TIME_FUNCTION}`,
    // Nothing instrumented to trace.
    ...FUNCTIONS.map((f) => `Serverless-LambdaTracing ${CONTROL_PLANE}/${f}/Resource`),
    `Serverless-LambdaTracing ${DEPLOY_TIME_FUNCTION}`,
    // The dead-letter queue itself; the node API's best-effort warm-up on the launch rule.
    `Serverless-SQSRedrivePolicy ${CONTROL_PLANE}/DeadLetterQueue/Resource`,
    `Serverless-EventBusDLQ ${CONTROL_PLANE}/LaunchRule/Resource`,
  ],
  "NIST.800.53.R5": [
    ...[
      ...FUNCTIONS.map((f) => `${CONTROL_PLANE}/${f}Logs/Resource`),
      "EtcdAsg/Cluster/SuspendAzRebalanceLogs/Resource",
      "EtcdAsg/Cluster/Network/FlowLogs/Resource",
    ].map((at) => `NIST.800.53.R5-CloudWatchLogGroupEncrypted ${at}`),
    `NIST.800.53.R5-DynamoDBInBackupPlan ${CONTROL_PLANE}/Ledger/Resource`,
    ...[
      ...FUNCTIONS.map((f) => `${CONTROL_PLANE}/${f}Role/Resource`),
      // The DLQ's grant (lifecycle hooks, snapshot), the client name's records (node API, terminate hook, reconciler).
      ...["LaunchHook", "TerminateHook", "NodeApi", "Reconciler", "Snapshot"].map(
        (f) => `${CONTROL_PLANE}/${f}Role/DefaultPolicy/Resource`,
      ),
      "EtcdAsg/Cluster/SuspendAzRebalanceRole/Resource",
      "EtcdAsg/Cluster/NodeRole/DefaultPolicy/Resource",
      "EtcdAsg/Cluster/Network/Vpc/RejectedFlows/IAMRole/DefaultPolicy/Resource",
    ].map((at) => `NIST.800.53.R5-IAMNoInlinePolicy ${at}`),
    `NIST.800.53.R5-LambdaConcurrency ${DEPLOY_TIME_FUNCTION}`,
    ...["NodeApi", "ClientCert", "Reconciler"].map(
      (f) => `NIST.800.53.R5-LambdaDLQ ${CONTROL_PLANE}/${f}/Resource`,
    ),
    `NIST.800.53.R5-LambdaDLQ ${DEPLOY_TIME_FUNCTION}`,
    `NIST.800.53.R5-LambdaInsideVPC ${DEPLOY_TIME_FUNCTION}`,
    "NIST.800.53.R5-SNSEncryptedKMS EtcdAsg/Cluster/AlarmTopic/Resource",
    ...["S3BucketLoggingEnabled", "S3BucketReplicationEnabled", "S3DefaultEncryptionKMS"].map(
      (rule) => `NIST.800.53.R5-${rule} ${SNAPSHOTS}`,
    ),
    ...[1, 2, 3].map(
      (n) =>
        `NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW EtcdAsg/Cluster/Network/Vpc/publicSubnet${n}/DefaultRoute`,
    ),
  ],
};

for (const pack of PACK_NAMES) {
  test(`acknowledges each ${pack} finding on the one resource that needs it, with a reason`, () => {
    const acknowledged = acknowledgements(synthesized.app, pack);
    assert.deepEqual(acknowledged.map((a) => a.at).sort(), [...ACKNOWLEDGED[pack]].sort());
    for (const { at, reason } of acknowledged) {
      assert.ok(reason.length > 80, `acknowledgement ${at} gives a reason: ${reason}`);
    }
  });
}

test("acknowledges exactly what the packs find without acknowledgements: none is stale", (t) => {
  // The same stack built with every acknowledgement ignored: what each pack reports then is what the
  // acknowledgements answer, no more, no less.
  t.mock.method(Validations.prototype, "acknowledge", () => undefined);
  const { app } = build(fixture);
  t.mock.restoreAll();
  for (const pack of PACK_NAMES) {
    const acknowledged = acknowledgements(synthesized.app, pack).map((a) => a.at);
    assert.deepEqual(nagFindings(app, pack).sort(), acknowledged.sort(), pack);
    assert.deepEqual(acknowledgements(app, pack), [], `${pack}: the mock kept every acknowledgement out`);
  }
});

test("adds no unacknowledged finding of its own in a VPC and with an alarm topic it is given", () => {
  // The user's VPC and topic are theirs to answer for: only what the construct creates counts.
  const app = new App({ context: cdkJsonContext(), stackTraces: false, treeMetadata: false });
  const stack = new Stack(app, "Given", { env: { account: "123456789012", region: "us-east-1" } });
  new EtcdCluster(stack, "Cluster", {
    vpc: new ec2.Vpc(stack, "Theirs", { maxAzs: 3 }),
    alarmTopic: new sns.Topic(stack, "TheirTopic"),
    lambdaBundlesDir: fixture.lambdaBundlesDir,
    bootScriptPath: fixture.bootScriptPath,
  });
  const ours = (finding: string) => / Given\/(Cluster|AWS679f53fac002430cb0da5b7982bd2287)\//.test(finding);
  for (const pack of PACK_NAMES) {
    assert.deepEqual(nagFindings(app, pack).filter(ours), [], pack);
  }
});

describe("cdk-nag still reports what is new", () => {
  // The compliant case is the stack as built (above); here the same stack with one new wildcard on
  // every role, in each place a statement can go, a new function, managed policy, queue, table, log
  // group, topic and route, and the fixes that keep some findings away undone.
  let findings: Record<Pack, string[]>;
  let rolePaths: string[];
  const has = (pack: Pack, finding: string) =>
    assert.ok(findings[pack].includes(finding), `${finding} in\n${findings[pack].join("\n")}`);

  before(() => {
    const { app, stack } = build(fixture);
    const find = <T>(nodePath: string): T => {
      const found = stack.node.findAll().find((c) => c.node.path === nodePath);
      assert.ok(found, nodePath);
      return found as T;
    };
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
    find<iam.ManagedPolicy>(`${CONTROL_PLANE}/DescribeGroupAndInstances`).addStatements(
      new iam.PolicyStatement({ actions: ["ec2:Describe*"], resources: ["*"] }),
    );
    find<iam.ManagedPolicy>(`${CONTROL_PLANE}/NetworkInterfacesInTheVpc`).addStatements(
      new iam.PolicyStatement({ actions: ["dynamodb:GetItem"], resources: ["arn:aws:dynamodb:*:*:table/*"] }),
    );
    // A new function in the cluster, on an older runtime than the acknowledged ones, with CDK's
    // default role (AWSLambdaBasicExecutionRole), outside the VPC, with no dead-letter queue,
    // tracing, memory, timeout or reserved concurrency, and retries without a failure destination.
    const extra = new lambda.Function(stack.cluster, "Extra", {
      runtime: lambda.Runtime.NODEJS_22_X,
      code: lambda.Code.fromInline("exports.handler = async () => {};"),
      handler: "index.handler",
      retryAttempts: 1,
    });
    // A new rule whose target has no dead-letter queue, beside the launch rule's acknowledged one.
    new events.Rule(stack.cluster, "ExtraRule", {
      schedule: events.Schedule.rate(Duration.hours(1)),
      targets: [new targets.LambdaFunction(extra)],
    });
    // An asynchronous configuration on the node API, whose dead-letter acknowledgement says its one
    // asynchronous invocation (the warm-up) never fails.
    find<lambda.Function>(`${CONTROL_PLANE}/NodeApi`).configureAsyncInvoke({ retryAttempts: 0 });
    // A queue, a table, a log group and a topic beside the acknowledged ones.
    new sqs.Queue(stack.cluster, "ExtraQueue", { enforceSSL: true });
    new dynamodb.Table(stack.cluster, "ExtraTable", {
      partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new logs.LogGroup(stack.cluster, "ExtraLogs", { retention: logs.RetentionDays.ONE_DAY });
    new sns.Topic(stack.cluster, "ExtraTopic", { enforceSSL: true });
    // A private subnet routed straight to the internet gateway.
    const vpc = stack.cluster.vpc as ec2.Vpc;
    new ec2.CfnRoute(stack.cluster, "ExtraRoute", {
      routeTableId: (vpc.privateSubnets[0] as ec2.Subnet).routeTable.routeTableId,
      destinationCidrBlock: "0.0.0.0/0",
      gatewayId: vpc.internetGatewayId,
    });
    // The fixes, undone: a public subnet that maps public IPs, the node API without its reserved
    // concurrency, the deploy-time function without its memory size.
    (vpc.publicSubnets[0]?.node.defaultChild as ec2.CfnSubnet).mapPublicIpOnLaunch = true;
    find<lambda.CfnFunction>(`${CONTROL_PLANE}/NodeApi/Resource`).reservedConcurrentExecutions = undefined;
    find<lambda.CfnFunction>(DEPLOY_TIME_FUNCTION).memorySize = undefined;
    findings = {
      AwsSolutions: nagFindings(app, "AwsSolutions"),
      Serverless: nagFindings(app, "Serverless"),
      "NIST.800.53.R5": nagFindings(app, "NIST.800.53.R5"),
    };
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

  describe("AwsSolutions", () => {
    test("reports a wildcard resource in a policy added to any role", () => {
      for (const role of rolePaths) {
        has("AwsSolutions", `AwsSolutions-IAM5[Resource::*] ${role}/DefaultPolicy/Resource`);
      }
    });

    test("reports a wildcard action and resource in any role's own inline policy", () => {
      for (const role of rolePaths) {
        for (const finding of ["Action::ec2:Describe*", "Resource::*"]) {
          has("AwsSolutions", `AwsSolutions-IAM5[${finding}] ${role}/Resource`);
        }
      }
    });

    test("reports any other wildcard in the two policies whose Resource::* is acknowledged", () => {
      has(
        "AwsSolutions",
        `AwsSolutions-IAM5[Action::ec2:Describe*] ${CONTROL_PLANE}/DescribeGroupAndInstances/Resource`,
      );
      has(
        "AwsSolutions",
        `AwsSolutions-IAM5[Resource::arn:aws:dynamodb:*:*:table/*] ${CONTROL_PLANE}/NetworkInterfacesInTheVpc/Resource`,
      );
    });

    test("reports a new function's runtime and its AWS managed policy", () => {
      has("AwsSolutions", "AwsSolutions-L1 EtcdAsg/Cluster/Extra/Resource");
      has(
        "AwsSolutions",
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole] EtcdAsg/Cluster/Extra/ServiceRole/Resource",
      );
    });
  });

  describe("Serverless", () => {
    test("reports a new function's old runtime, missing dead-letter queue, tracing, memory and timeout, and its retries without a failure destination", () => {
      for (const rule of ["LatestVersion", "DLQ", "Tracing", "DefaultMemorySize", "DefaultTimeout"]) {
        has("Serverless", `Serverless-Lambda${rule} EtcdAsg/Cluster/Extra/Resource`);
      }
      has(
        "Serverless",
        "Serverless-LambdaAsyncFailureDestination EtcdAsg/Cluster/Extra/EventInvokeConfig/Resource",
      );
    });

    test("reports a new rule whose target has no dead-letter queue", () => {
      has("Serverless", "Serverless-EventBusDLQ EtcdAsg/Cluster/ExtraRule/Resource");
    });

    test("reports an asynchronous configuration given to the node API, whose warm-up needs none", () => {
      has(
        "Serverless",
        `Serverless-LambdaAsyncFailureDestination ${CONTROL_PLANE}/NodeApi/EventInvokeConfig/Resource`,
      );
    });

    test("reports a wildcard in the own inline policy of any role a function runs as", () => {
      for (const role of [
        ...FUNCTIONS.map((f) => `${CONTROL_PLANE}/${f}Role`),
        "EtcdAsg/Cluster/SuspendAzRebalanceRole",
      ]) {
        has("Serverless", `Serverless-LambdaStarPermissions ${role}/Resource`);
      }
    });

    test("reports a new queue without a redrive policy", () => {
      has("Serverless", "Serverless-SQSRedrivePolicy EtcdAsg/Cluster/ExtraQueue/Resource");
    });

    test("reports the deploy-time function without its memory size", () => {
      has("Serverless", `Serverless-LambdaDefaultMemorySize ${DEPLOY_TIME_FUNCTION}`);
    });
  });

  describe("NIST 800-53 R5", () => {
    test("reports every inline policy the acknowledgements do not name: new policies, and the own policies of roles that had none", () => {
      const inline = findings["NIST.800.53.R5"].filter((f) =>
        f.startsWith("NIST.800.53.R5-IAMNoInlinePolicy "),
      );
      assert.deepEqual(
        inline.sort(),
        [
          // Roles that had no DefaultPolicy: the one added is new.
          `${CONTROL_PLANE}/ClientCertRole/DefaultPolicy/Resource`,
          "EtcdAsg/Cluster/SuspendAzRebalanceRole/DefaultPolicy/Resource",
          // Roles whose statements were all in a DefaultPolicy: their own Policies are new.
          "EtcdAsg/Cluster/NodeRole/Resource",
          "EtcdAsg/Cluster/Network/Vpc/RejectedFlows/IAMRole/Resource",
        ]
          .map((at) => `NIST.800.53.R5-IAMNoInlinePolicy ${at}`)
          .sort(),
      );
    });

    test("reports a new function outside the VPC, without reserved concurrency or dead-letter queue", () => {
      for (const rule of ["LambdaInsideVPC", "LambdaConcurrency", "LambdaDLQ"]) {
        has("NIST.800.53.R5", `NIST.800.53.R5-${rule} EtcdAsg/Cluster/Extra/Resource`);
      }
    });

    test("reports the node API without its reserved concurrency", () => {
      has("NIST.800.53.R5", `NIST.800.53.R5-LambdaConcurrency ${CONTROL_PLANE}/NodeApi/Resource`);
    });

    test("reports a new log group without a customer-managed key, a table outside a backup plan and an unencrypted topic", () => {
      has("NIST.800.53.R5", "NIST.800.53.R5-CloudWatchLogGroupEncrypted EtcdAsg/Cluster/ExtraLogs/Resource");
      has("NIST.800.53.R5", "NIST.800.53.R5-DynamoDBInBackupPlan EtcdAsg/Cluster/ExtraTable/Resource");
      has("NIST.800.53.R5", "NIST.800.53.R5-SNSEncryptedKMS EtcdAsg/Cluster/ExtraTopic/Resource");
    });

    test("reports a new route to the internet gateway, and a subnet that maps public IPs on launch", () => {
      has("NIST.800.53.R5", "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW EtcdAsg/Cluster/ExtraRoute");
      has(
        "NIST.800.53.R5",
        "NIST.800.53.R5-VPCSubnetAutoAssignPublicIpDisabled EtcdAsg/Cluster/Network/Vpc/publicSubnet1/Subnet",
      );
    });
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
