// EtcdCluster's props: a wrong value fails at construction with a message naming the prop, the value
// received and what to change; the other choices (imported VPC, x86, named clients) shape the template.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { App, Duration, Fn, Size, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as events from "aws-cdk-lib/aws-events";
import * as route53 from "aws-cdk-lib/aws-route53";
import * as s3assets from "aws-cdk-lib/aws-s3-assets";
import { EtcdCluster } from "../../cdk/lib/etcd-cluster";
import {
  type EtcdClusterProps,
  EtcdClusterPropsError,
  FUNCTION_NAMES,
} from "../../cdk/lib/etcd-cluster-props";
import { nodeUserData } from "../../cdk/lib/node-user-data";
import { ingressRules } from "./firewall";
import { cdkJsonContext, type Fixture, makeFixture } from "./synth-fixture";

let fixture: Fixture;
before(() => {
  fixture = makeFixture();
});
after(() => fixture.remove());

function newStack(): Stack {
  const context = cdkJsonContext();
  const app = new App({
    context,
    outdir: path.join(fixture.dir, "props.out"),
    stackTraces: false,
    treeMetadata: false,
  });
  return new Stack(app, "Props", { env: { account: "123456789012", region: "us-east-1" } });
}

function build(props: EtcdClusterProps, stack = newStack()): EtcdCluster {
  return new EtcdCluster(stack, "Cluster", {
    lambdaBundlesDir: fixture.lambdaBundlesDir,
    bootScriptPath: fixture.bootScriptPath,
    ...props,
  });
}

function rejects(props: EtcdClusterProps, message: RegExp): void {
  assert.throws(
    () => build(props),
    (error: unknown) => {
      assert.ok(error instanceof EtcdClusterPropsError, `an EtcdClusterPropsError, got ${String(error)}`);
      assert.equal(error.name, "EtcdClusterPropsError");
      assert.match(error.message, message);
      return true;
    },
  );
}

describe("props validation", () => {
  test("refuses an even or oversized cluster size, showing the value and the allowed sizes", () => {
    rejects({ clusterSize: 4 }, /^clusterSize must be one of 3, 5, 7 .*; received 4$/);
    rejects({ clusterSize: 9 }, /received 9$/);
  });

  test("refuses an unknown join strategy, listing the known ones", () => {
    rejects(
      { joinStrategy: "dumb" as never },
      /^joinStrategy must be one of prepare, add, replace, prune; received "dumb"$/,
    );
  });

  test("refuses an etcd version with a leading v or a missing patch number", () => {
    rejects(
      { etcdVersion: "v3.5.21" },
      /^etcdVersion must be .*without a leading "v", e\.g\. "3\.5\.21"; received "v3\.5\.21"$/,
    );
    rejects({ etcdVersion: "3.5" }, /received "3\.5"$/);
  });

  test("asks for the release digest when the version's digest is not known for the architecture", () => {
    rejects(
      { etcdVersion: "3.5.6", instanceType: new ec2.InstanceType("m6g.large") },
      /^etcdSha256 is needed for etcd 3\.5\.6 on arm64 \(m6g\.large\): pass the SHA-256 of etcd-v3\.5\.6-linux-arm64\.tar\.gz .*or use etcdVersion 3\.5\.21$/,
    );
    rejects(
      { etcdVersion: "3.5.6", etcdSha256: "abc" },
      /^etcdSha256 must be 64 lowercase hex digits; received "abc"$/,
    );
  });

  test("refuses a cluster name that cannot name an Auto Scaling Group", () => {
    rejects({ clusterName: "my cluster" }, /^clusterName must be .*; received "my cluster"$/);
  });

  test("refuses to open the client port to the whole internet", () => {
    rejects(
      { clientCidrs: ["0.0.0.0/0"] },
      /^clientCidrs must not open etcd to the whole internet; received "0\.0\.0\.0\/0": .*clientSecurityGroups$/,
    );
  });

  test("refuses a client CIDR that is not an IPv4 CIDR", () => {
    rejects(
      { clientCidrs: ["10.0.0.300/16"] },
      /^clientCidrs must hold IPv4 CIDRs such as "10\.0\.0\.0\/16"; received "10\.0\.0\.300\/16"$/,
    );
    rejects({ clientCidrs: ["10.0.0.0"] }, /received "10\.0\.0\.0"$/);
  });

  test("refuses a data volume that is not a whole number of GiB within gp3's range", () => {
    rejects(
      { dataVolumeSize: Size.mebibytes(1536) },
      /^dataVolumeSize must be a whole number of GiB from 1 to 16384 .*; received 1\.5 GiB$/,
    );
    rejects({ dataVolumeSize: Size.tebibytes(20) }, /received 20480 GiB$/);
  });

  test("refuses heartbeat timeouts outside the lifecycle hook's 30 s to 7200 s", () => {
    rejects(
      { launchHeartbeatTimeout: Duration.seconds(10) },
      /^launchHeartbeatTimeout must be .* from 30 to 7200 .*; received 10 s$/,
    );
    rejects(
      { terminateHeartbeatTimeout: Duration.hours(3) },
      /^terminateHeartbeatTimeout .*received 10800 s$/,
    );
  });

  test("refuses a terminate heartbeat timeout shorter than the longest gap between the control plane's heartbeats (130 s)", () => {
    rejects(
      { terminateHeartbeatTimeout: Duration.seconds(129) },
      /^terminateHeartbeatTimeout must be a whole number of seconds from 130 to 7200 .*; received 129 s$/,
    );
    const stack = newStack();
    build({ terminateHeartbeatTimeout: Duration.seconds(130) }, stack);
    Template.fromStack(stack).hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", {
      LifecycleHookSpecificationList: Match.arrayWith([
        Match.objectLike({
          LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
          HeartbeatTimeout: 130,
        }),
      ]),
    });
  });

  test("refuses a fraction of a second in a heartbeat timeout, naming the prop", () => {
    rejects(
      { launchHeartbeatTimeout: Duration.millis(60_500) },
      /^launchHeartbeatTimeout .*received 60\.5 s$/,
    );
  });

  test("refuses a certificate lifetime outside 1 hour to 90 days, showing the value received", () => {
    rejects(
      { certificateLifetime: Duration.minutes(59) },
      /^certificateLifetime must be a whole number of seconds from 1 hour to 90 days \(nodes renew at two thirds of it\); received 3540 s$/,
    );
    rejects({ certificateLifetime: Duration.days(91) }, /^certificateLifetime .*received 7862400 s$/);
    rejects(
      { certificateLifetime: Duration.millis(3_600_500) },
      /^certificateLifetime .*received 3600\.5 s$/,
    );
  });

  test("accepts a certificate lifetime of exactly 1 hour and exactly 90 days", () => {
    build({ certificateLifetime: Duration.hours(1) });
    build({ certificateLifetime: Duration.days(90) });
  });

  test("refuses a health grace period outside 2 minutes to 1 hour, showing the value received", () => {
    rejects(
      { healthGracePeriod: Duration.seconds(90) },
      /^healthGracePeriod must be a whole number of seconds from 2 minutes to 1 hour \(two reconcile passes at least\); received 90 s$/,
    );
    rejects({ healthGracePeriod: Duration.minutes(61) }, /^healthGracePeriod .*received 3660 s$/);
  });

  test("refuses a snapshot interval, retention, recovery mode or loss threshold out of range, showing the value", () => {
    rejects(
      { snapshotInterval: Duration.minutes(4) },
      /^snapshotInterval must be a whole number of minutes from 5 minutes to 24 hours \(the snapshot schedule's rate\); received 240 s$/,
    );
    rejects({ snapshotInterval: Duration.seconds(330) }, /^snapshotInterval .*received 330 s$/);
    rejects({ snapshotInterval: Duration.hours(25) }, /^snapshotInterval .*received 90000 s$/);
    rejects(
      { snapshotRetention: { hourlyForDays: 1.5 } },
      /^snapshotRetention\.hourlyForDays must be a whole number of days from 0 to 3650; received 1\.5$/,
    );
    rejects({ snapshotRetention: { dailyForDays: -1 } }, /^snapshotRetention\.dailyForDays .*received -1$/);
    rejects(
      { snapshotRetention: { hourlyForDays: 0, dailyForDays: 0 } },
      /^snapshotRetention keeps no tier \(hourlyForDays and dailyForDays are both 0\)/,
    );
    rejects(
      { disasterRecovery: "sometimes" as "manual" },
      /^disasterRecovery must be one of automatic, manual; received "sometimes"$/,
    );
    rejects(
      { quorumLossThreshold: Duration.seconds(59) },
      /^quorumLossThreshold must be a whole number of seconds from 1 minute to 1 hour \(a partition or a slow election must not count as a loss\); received 59 s$/,
    );
    rejects({ quorumLossThreshold: Duration.minutes(61) }, /^quorumLossThreshold .*received 3660 s$/);
  });

  test("refuses a defragmentation schedule more often than hourly, showing the expression", () => {
    rejects(
      { defragmentationSchedule: events.Schedule.rate(Duration.minutes(30)) },
      /^defragmentationSchedule must not run more often than hourly .*; received rate\(30 minutes\)$/,
    );
    build({ defragmentationSchedule: events.Schedule.rate(Duration.minutes(60)) });
  });

  test("refuses natGateways with an imported VPC, and zero NAT gateways", () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, "Existing");
    assert.throws(
      () => build({ vpc, natGateways: 2 }, stack),
      /natGateways applies only to the VPC the construct creates/,
    );
    rejects({ natGateways: 0 }, /^natGateways must be an integer from 1 to 3 .*; received 0$/);
  });

  test("refuses a client name that is not a lowercase DNS name, too long for its SRV targets, or outside the zone", () => {
    rejects(
      { clientDnsName: "Etcd.Example.internal" },
      /^clientDnsName must be a DNS name .*received "Etcd\.Example\.internal"$/,
    );
    rejects(
      { clientDnsName: `${`${"a".repeat(60)}.`.repeat(4)}internal` },
      /^clientDnsName .*at most 233 characters/,
    );
    rejects(
      { clientDnsName: "etcd.elsewhere.internal" },
      /^clientDnsName must be in hostedZone \(props-cluster\.etcd\.internal\): received "etcd\.elsewhere\.internal"/,
    );
  });

  test("names the client name under an imported zone, and asks for it when the zone's name is a token", () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, "Existing");
    const hostedZone = new route53.PrivateHostedZone(stack, "Zone", { zoneName: "corp.internal", vpc });
    assert.equal(build({ vpc, hostedZone }, stack).clientEndpoint.name, "etcd.corp.internal");
    // No zone of its own beside the imported one.
    Template.fromStack(stack).resourceCountIs("AWS::Route53::HostedZone", 1);
    const byId = newStack();
    const zoneById = route53.HostedZone.fromHostedZoneId(byId, "ById", "Z0123456789ABCDEFGHIJ");
    const named = build({ hostedZone: zoneById, clientDnsName: "etcd.corp.internal" }, byId);
    assert.equal(named.clientEndpoint.name, "etcd.corp.internal");
    const token = newStack();
    const imported = route53.HostedZone.fromHostedZoneAttributes(token, "Imported", {
      hostedZoneId: "Z0123456789ABCDEFGHIJ",
      zoneName: Fn.importValue("corp-zone-name"),
    });
    assert.throws(
      () => build({ hostedZone: imported }, token),
      /^EtcdClusterPropsError: clientDnsName is required when hostedZone's name is not known at synth/,
    );
  });

  test("names the missing bundle and how to build it", () => {
    rejects(
      { lambdaBundlesDir: path.join(fixture.dir, "nowhere") },
      /^lambdaBundlesDir has no bundle for launch-hook: .*nowhere\/launch-hook\/lib\/index\.js does not exist\. Run `npm run build`/,
    );
  });

  test("names the missing boot script", () => {
    rejects(
      { bootScriptPath: path.join(fixture.dir, "missing.sh") },
      /^bootScriptPath .*missing\.sh does not exist/,
    );
  });
});

test("the user data pins the repository's boot script by hash and stays far below EC2's 16 KB", () => {
  const bootScriptPath = path.resolve(__dirname, "..", "..", "bootstrap-script", "etcd-asg-boot.sh");
  const stack = new Stack();
  const userData = nodeUserData({
    bootScript: new s3assets.Asset(stack, "BootScript", { path: bootScriptPath }),
    bootScriptPath,
    nodeApiUrl: "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws/",
    etcdVersion: "3.5.21",
    etcdSha256: "0".repeat(64),
  }).render();
  const sha256 = createHash("sha256").update(readFileSync(bootScriptPath)).digest("hex");
  assert.ok(userData.includes(`BOOT_SCRIPT_SHA256='${sha256}'`));
  assert.ok(!userData.includes("etcd-asg-boot.sh —"), "the boot script itself is not inlined");
  // Room to grow: the boot script's size does not count, only this stub's.
  assert.ok(Buffer.byteLength(userData) < 8 * 1024, `${Buffer.byteLength(userData)} bytes`);
});

test("closes the new VPC's default security group in an app without cdk.json's feature flags", () => {
  const app = new App({
    outdir: path.join(fixture.dir, "flagless.out"),
    stackTraces: false,
    treeMetadata: false,
  });
  const stack = new Stack(app, "Flagless", { env: { account: "123456789012", region: "us-east-1" } });
  build({}, stack);
  Template.fromStack(stack).resourceCountIs("Custom::VpcRestrictDefaultSG", 1);
});

describe("an imported VPC, an x86 instance type and named clients", () => {
  let template: Template;
  let clientGroup: ec2.SecurityGroup;

  before(() => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, "Existing", { maxAzs: 3 });
    clientGroup = new ec2.SecurityGroup(stack, "Clients", { vpc });
    build(
      {
        vpc,
        clusterSize: 5,
        joinStrategy: "prune",
        instanceType: new ec2.InstanceType("c7i.large"),
        dataVolumeSize: Size.gibibytes(100),
        clientSecurityGroups: [clientGroup],
        clientCidrs: ["10.20.0.0/16"],
        certificateLifetime: Duration.hours(12),
        healthGracePeriod: Duration.minutes(5),
      },
      stack,
    );
    template = Template.fromStack(stack);
  });

  test("uses the VPC it is given and creates no other", () => {
    template.resourceCountIs("AWS::EC2::VPC", 1);
    template.resourceCountIs("AWS::EC2::FlowLog", 0);
  });

  test("boots x86 instances from the x86 Amazon Linux 2023 image", () => {
    template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({ InstanceType: "c7i.large" }),
    });
    const parameters = Object.values(template.toJSON().Parameters as Record<string, { Default?: string }>);
    assert.ok(parameters.some((p) => /al2023-ami-kernel-[\d.]+-x86_64$/.test(p.Default ?? "")));
  });

  test("sizes the group and the volume, and the certificates' lifetime, from the props", () => {
    template.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", { MinSize: "5", MaxSize: "5" });
    template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({
        BlockDeviceMappings: Match.arrayWith([
          Match.objectLike({ DeviceName: "/dev/sdf", Ebs: Match.objectLike({ VolumeSize: 100 }) }),
        ]),
      }),
    });
    const functions = Object.values(template.findResources("AWS::Lambda::Function")).filter(
      (fn) => fn.Properties.Handler === "lib/index.handler",
    );
    assert.equal(functions.length, FUNCTION_NAMES.length);
    for (const fn of functions) {
      const variables = fn.Properties.Environment.Variables;
      assert.equal(variables.CLUSTER_SIZE, "5", fn.Properties.Description);
      assert.equal(variables.JOIN_STRATEGY, "prune", fn.Properties.Description);
      assert.equal(variables.NODE_CERTIFICATE_LIFETIME_SECONDS, "43200", fn.Properties.Description);
      assert.equal(variables.HEALTH_GRACE_SECONDS, "300", fn.Properties.Description);
    }
    const nodeApi = functions.find((fn) => fn.Properties.Tags?.[0]?.Value === "node-api");
    assert.equal(nodeApi?.Properties.ReservedConcurrentExecutions, 10, "twice the cluster size");
  });

  test("admits the named client group and CIDR to 2379 only, and 2380 still only from the nodes", () => {
    const groups = Object.keys(template.findResources("AWS::EC2::SecurityGroup"));
    const id = (prefix: string) => groups.find((g) => g.startsWith(prefix)) ?? `no ${prefix}`;
    const nodes = id("ClusterNetworkNodeSecurityGroup");
    assert.deepEqual(ingressRules(template, nodes), [
      "tcp 2379 from 10.20.0.0/16",
      `tcp 2379 from ${id("Clients")}`,
      `tcp 2379 from ${id("ClusterNetworkLambdaSecurityGroup")}`,
      `tcp 2379 from ${nodes}`,
      `tcp 2380 from ${nodes}`,
    ]);
  });
});

describe("snapshot, recovery and defragmentation props", () => {
  let template: Template;

  before(() => {
    const stack = newStack();
    build(
      {
        snapshotInterval: Duration.minutes(10),
        snapshotRetention: { hourlyForDays: 0, dailyForDays: 30 },
        disasterRecovery: "manual",
        quorumLossThreshold: Duration.minutes(2),
        defragmentationSchedule: events.Schedule.cron({ hour: "3", minute: "0" }),
      },
      stack,
    );
    template = Template.fromStack(stack);
  });

  const variablesOf = (role: string): Record<string, unknown> => {
    const fn = Object.values(template.findResources("AWS::Lambda::Function")).find(
      (f) => f.Properties.Tags?.[0]?.Value === role,
    );
    assert.ok(fn, `a function tagged ${role}`);
    return fn.Properties.Environment.Variables;
  };

  test("the snapshot schedule runs at the interval, and the snapshot function prunes by the retention", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(10 minutes)",
      Description: Match.stringLikeRegexp("^Takes an etcd snapshot"),
    });
    const snapshot = variablesOf("snapshot");
    assert.equal(snapshot.SNAPSHOT_INTERVAL_SECONDS, "600");
    assert.equal(snapshot.SNAPSHOT_RETENTION, "86400:2592000");
  });

  test("the snapshot-age alarm follows the interval", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "SnapshotAge",
      Period: 600,
      Threshold: 1200,
    });
  });

  test("the defragmentation rule runs on the schedule given", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "cron(0 3 * * ? *)",
      Description: Match.stringLikeRegexp("^Defragments the etcd members"),
    });
  });

  test("every function is told the recovery mode and the loss threshold", () => {
    for (const role of FUNCTION_NAMES) {
      const variables = variablesOf(role);
      assert.equal(variables.DISASTER_RECOVERY, "manual", role);
      assert.equal(variables.QUORUM_LOSS_THRESHOLD_SECONDS, "120", role);
    }
  });
});
