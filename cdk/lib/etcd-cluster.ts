// EtcdCluster: an etcd cluster in an Auto Scaling Group whose member list the control plane keeps in
// step with the instances. It wires the network, the control plane, the nodes' launch template and
// group (with both lifecycle hooks present from the group's first launch) and the alarms.
import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import type * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import * as s3assets from "aws-cdk-lib/aws-s3-assets";
import * as sns from "aws-cdk-lib/aws-sns";
import * as cr from "aws-cdk-lib/custom-resources";
import { Construct } from "constructs";

export type { EtcdClusterProps } from "./etcd-cluster-props";

import { INSTANCE_REFRESH_UPDATE_POLICY, ignoreCfnLintChecks } from "./cfn-lint-suppressions";
import { ClientEndpoint } from "./client-endpoint";
import { ClusterAlarms } from "./cluster-alarms";
import { ClusterDashboard, DASHBOARD_GROUP_METRICS } from "./cluster-dashboard";
import { ClusterNetwork } from "./cluster-network";
import { autoScalingGroupArn, ControlPlane } from "./control-plane";
import { DurabilityAlarms } from "./durability-alarms";
import { type EtcdClusterProps, resolveProps } from "./etcd-cluster-props";
import { acknowledgeNagFindings } from "./nag-acknowledgements";
import { DATA_VOLUME_DEVICE, nodeUserData } from "./node-user-data";

export const LAUNCH_HOOK_NAME = "etcd-asg-launch";
export const TERMINATE_HOOK_NAME = "etcd-asg-terminate";

export class EtcdCluster extends Construct {
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  readonly autoScalingGroupName: string;
  readonly ledgerTable: dynamodb.ITable;
  /** The node API's function URL (IAM auth); the boot script calls it. */
  readonly nodeApiUrl: string;
  /** Invoke it to reconcile now: `aws lambda invoke --function-name <name> /dev/stdout`. */
  readonly reconciler: lambda.IFunction;
  /** Issues etcd client certificates (`npx etcd-asg client-cert`); whoever may invoke it may get one. */
  readonly clientCertFunction: lambda.IFunction;
  /** Takes, lists (and, once wired, restores) etcd snapshots: `npx etcd-asg snapshot`. */
  readonly snapshotFunction: lambda.IFunction;
  /** Where the snapshots are kept. */
  readonly snapshotBucket: s3.IBucket;
  readonly alarmTopic: sns.ITopic;
  /** The cluster's CloudWatch dashboard (cluster-dashboard.ts). */
  readonly dashboard: cloudwatch.Dashboard;
  /** The client name and its private hosted zone (docs/client-endpoint.md). */
  readonly clientEndpoint: ClientEndpoint;
  readonly vpc: ec2.IVpc;
  /** The nodes' group. Clients use `clientSecurityGroups` instead: members of this one also reach 2380. */
  readonly nodeSecurityGroup: ec2.ISecurityGroup;

  constructor(scope: Construct, id: string, props: EtcdClusterProps = {}) {
    super(scope, id);
    const config = resolveProps(props, `${Stack.of(this).stackName}-${id}`);
    const network = new ClusterNetwork(this, "Network", { vpc: props.vpc, config });
    const vpcSubnets = props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    // The group's name is fixed here rather than generated, so the functions (whose environment and
    // policies name the group) and the group (whose user data names the node API) do not reference
    // each other: a generated name would make a dependency cycle.
    const autoScalingGroupName = config.clusterName;

    // Created first: every function is told the node role's ARN (the node API answers only its
    // sessions, and the shared configuration requires it).
    const nodeRole = new iam.Role(this, "NodeRole", {
      assumedBy: new iam.ServicePrincipal("ec2.amazonaws.com"),
      description: `etcd-asg node of ${config.clusterName}: may call the node API and read its boot script`,
    });

    const controlPlane = new ControlPlane(this, "ControlPlane", {
      config,
      vpc: network.vpc,
      vpcSubnets,
      securityGroup: network.lambdaSecurityGroup,
      autoScalingGroupName,
      launchHookName: LAUNCH_HOOK_NAME,
      terminateHookName: TERMINATE_HOOK_NAME,
      nodeRoleArn: nodeRole.roleArn,
    });

    // lambda:InvokeFunctionUrl (and lambda:InvokeFunction via the URL) on the node API only. The
    // node API answers only sessions of this role (partition, account and name pinned), whose
    // session name EC2 sets to the instance ID.
    controlPlane.functions["node-api"].grantInvokeUrl(nodeRole);

    this.clientEndpoint = new ClientEndpoint(this, "ClientEndpoint", {
      config,
      vpc: network.vpc,
      functions: Object.values(controlPlane.functions),
      keepers: (["node-api", "terminate-hook", "reconciler"] as const).map((name) => ({
        fn: controlPlane.functions[name],
        role: controlPlane.roles[name],
      })),
    });

    // The boot script reaches the nodes as a file asset; the node role may read that one object.
    const bootScript = new s3assets.Asset(this, "BootScript", { path: config.bootScriptPath });
    nodeRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "ReadTheBootScript",
        actions: ["s3:GetObject"],
        resources: [bootScript.bucket.arnForObjects(bootScript.s3ObjectKey)],
      }),
    );

    const cpuType =
      config.instanceType.architecture === ec2.InstanceArchitecture.ARM_64
        ? ec2.AmazonLinuxCpuType.ARM_64
        : ec2.AmazonLinuxCpuType.X86_64;
    const launchTemplate = new ec2.LaunchTemplate(this, "LaunchTemplate", {
      machineImage: props.machineImage ?? ec2.MachineImage.latestAmazonLinux2023({ cpuType }),
      instanceType: config.instanceType,
      role: nodeRole,
      securityGroup: network.nodeSecurityGroup,
      userData: nodeUserData({
        bootScript,
        bootScriptPath: config.bootScriptPath,
        nodeApiUrl: controlPlane.nodeApiUrl.url,
        etcdVersion: config.etcdVersion,
        etcdSha256: config.etcdSha256,
      }),
      // IMDSv2 only, and a hop limit of 1 so a container on the node cannot reach the instance role.
      requireImdsv2: true,
      httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
      httpPutResponseHopLimit: 1,
      blockDevices: [
        {
          deviceName: "/dev/xvda",
          volume: ec2.BlockDeviceVolume.ebs(8, { volumeType: ec2.EbsDeviceVolumeType.GP3, encrypted: true }),
        },
        {
          deviceName: DATA_VOLUME_DEVICE,
          // The data dies with the instance: a replacement is a new member (name = instance ID) that
          // catches up from the leader, so a volume outliving its instance would hold stale state.
          volume: ec2.BlockDeviceVolume.ebs(config.dataVolumeGiB, {
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            encrypted: true,
            deleteOnTermination: true,
          }),
        },
      ],
    });

    const createdTopic =
      props.alarmTopic === undefined ? new sns.Topic(this, "AlarmTopic", { enforceSSL: true }) : undefined;
    this.alarmTopic = props.alarmTopic ?? (createdTopic as sns.Topic);

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, "Nodes", {
      vpc: network.vpc,
      vpcSubnets,
      launchTemplate,
      autoScalingGroupName,
      // A fixed size: the control plane replaces members one for one; growing the cluster is a
      // change of clusterSize, which the engine's policy follows.
      minCapacity: config.clusterSize,
      maxCapacity: config.clusterSize,
      healthChecks: autoscaling.HealthChecks.ec2({ gracePeriod: Duration.minutes(5) }),
      // A deploy that changes the launch template (etcdVersion, the image, the instance type, the
      // user data) rolls the nodes: CloudFormation starts an instance refresh to the new version and
      // waits for it; a refresh that fails rolls the stack back with a refresh to the old version
      // (docs/operations.md). Launch before terminate, one node at a time (110 % of 3, 5 or 7 leaves
      // room for one more): the replacement joins as voter N + 1 and its launch completes once it is
      // a promoted voter; its predecessor's termination then removes the old member. A change that
      // does not touch the launch template starts no refresh.
      updatePolicy: autoscaling.UpdatePolicy.instanceRefresh({
        strategy: autoscaling.InstanceRefreshStrategy.ROLLING,
        minHealthyPercentage: 100,
        maxHealthyPercentage: 110,
        skipMatching: true,
      }),
      // The pause after each replacement goes in service before the next starts.
      defaultInstanceWarmup: Duration.seconds(60),
      notifications: [{ topic: this.alarmTopic, scalingEvents: autoscaling.ScalingEvents.ALL }],
      groupMetrics: [DASHBOARD_GROUP_METRICS],
    });
    const cfnGroup = this.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup;
    ignoreCfnLintChecks(cfnGroup, INSTANCE_REFRESH_UPDATE_POLICY);
    // Hooks declared on the group itself exist before its first instance launches; hooks added as
    // separate resources (addLifecycleHook) are created after the group, so the first instances would
    // go InService without the control plane ever seeing them.
    cfnGroup.lifecycleHookSpecificationList = [
      {
        lifecycleHookName: LAUNCH_HOOK_NAME,
        lifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
        // A node the control plane never admitted must not go InService: the ASG replaces it.
        defaultResult: "ABANDON",
        heartbeatTimeout: config.launchHeartbeatTimeout.toSeconds(),
      },
      {
        lifecycleHookName: TERMINATE_HOOK_NAME,
        lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
        // Both results terminate the instance; CONTINUE also runs any other terminate hooks. A
        // removal that would lose quorum is held by the control plane's heartbeats, not by this.
        defaultResult: "CONTINUE",
        heartbeatTimeout: config.terminateHeartbeatTimeout.toSeconds(),
      },
    ];
    // The rules must exist before the first lifecycle event, or the first launches are only found
    // by the reconciler a minute later.
    this.autoScalingGroup.node.addDependency(controlPlane);

    const suspend = this.suspendAzRebalance(autoScalingGroupName, config.logRetention);

    new ClusterAlarms(this, "Alarms", {
      clusterName: config.clusterName,
      deadLetterQueue: controlPlane.deadLetterQueue,
      reconciler: controlPlane.functions.reconciler,
      topic: this.alarmTopic,
    });
    new DurabilityAlarms(this, "DurabilityAlarms", {
      clusterName: config.clusterName,
      snapshotInterval: config.durability.snapshotInterval,
      topic: this.alarmTopic,
    });
    this.dashboard = new ClusterDashboard(this, "Dashboard", {
      clusterName: config.clusterName,
      autoScalingGroupName,
      launchHook: controlPlane.functions["launch-hook"],
      terminateHook: controlPlane.functions["terminate-hook"],
      reconciler: controlPlane.functions.reconciler,
      snapshotInterval: config.durability.snapshotInterval,
    }).dashboard;

    this.autoScalingGroupName = autoScalingGroupName;
    this.ledgerTable = controlPlane.ledgerTable;
    this.nodeApiUrl = controlPlane.nodeApiUrl.url;
    this.reconciler = controlPlane.functions.reconciler;
    this.clientCertFunction = controlPlane.functions["client-cert"];
    this.snapshotFunction = controlPlane.functions.snapshot;
    this.snapshotBucket = controlPlane.snapshotBucket;
    this.vpc = network.vpc;
    this.nodeSecurityGroup = network.nodeSecurityGroup;

    acknowledgeNagFindings({
      describePolicy: controlPlane.describePolicy,
      networkInterfacePolicy: controlPlane.networkInterfacePolicy,
      // The client-cert and snapshot roles name no group: they have nothing to acknowledge.
      groupArnRoles: [
        ...Object.entries(controlPlane.roles)
          .filter(([name]) => name !== "client-cert" && name !== "snapshot")
          .map(([, role]) => role),
        suspend.role,
      ],
      autoScalingGroupArn: autoScalingGroupArn(this, autoScalingGroupName),
      functions: controlPlane.functions,
      deployTimeFunction: suspend.provider,
      deadLetterQueue: controlPlane.deadLetterQueue,
      launchRule: controlPlane.launchRule,
      ledgerTable: controlPlane.ledgerTable,
      snapshotBucket: controlPlane.snapshotBucket,
      snapshotRole: controlPlane.roles.snapshot,
      snapshotObjectsArn: controlPlane.snapshotObjectsArn,
      logGroups: [
        ...Object.values(controlPlane.logGroups),
        suspend.logGroup,
        ...(network.created === undefined ? [] : [network.created.flowLogGroup]),
      ],
      rolesWithInlinePolicies: [
        ...Object.values(controlPlane.roles),
        suspend.role,
        nodeRole,
        ...(network.created?.flowLogRole === undefined ? [] : [network.created.flowLogRole]),
      ],
      alarmTopic: createdTopic,
      publicSubnets: network.created?.publicSubnets ?? [],
    });
  }

  /**
   * AZRebalance launches an instance in the short AZ and then terminates one in the long AZ without
   * the group being unhealthy. With a full, healthy cluster the launch is refused or parked as a
   * non-member, and the termination then takes a voter: the cluster shrinks by one each rebalance.
   * Suspended, the group stays unbalanced after an AZ outage until instances are replaced (which
   * launches in the short AZ first). CloudFormation has no property for suspended processes, hence
   * the SDK call. Returns the call's role (whose statement names the group by its ARN), its log
   * group, and CDK's provider function that makes it.
   */
  private suspendAzRebalance(autoScalingGroupName: string, retention: logs.RetentionDays): DeployTimeCall {
    const call: cr.AwsSdkCall = {
      service: "AutoScaling",
      action: "suspendProcesses",
      parameters: { AutoScalingGroupName: autoScalingGroupName, ScalingProcesses: ["AZRebalance"] },
      physicalResourceId: cr.PhysicalResourceId.of(`${autoScalingGroupName}-AZRebalance-suspended`),
    };
    const logGroup = new logs.LogGroup(this, "SuspendAzRebalanceLogs", {
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, "SuspendAzRebalanceRole", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `Suspends AZRebalance of ${autoScalingGroupName} at deploy`,
      inlinePolicies: {
        SuspendAzRebalance: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              actions: ["autoscaling:SuspendProcesses"],
              resources: [autoScalingGroupArn(this, autoScalingGroupName)],
            }),
            new iam.PolicyStatement({
              actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
              resources: [logGroup.logGroupArn],
            }),
          ],
        }),
      },
    });
    const suspend = new cr.AwsCustomResource(this, "SuspendAzRebalance", {
      onCreate: call,
      onUpdate: call,
      role,
      installLatestAwsSdk: false,
      logGroup,
      // One SDK call at deploy: the control plane's size is plenty.
      memorySize: 256,
    });
    suspend.node.addDependency(this.autoScalingGroup);
    // The stack's one AwsCustomResource provider (a singleton CDK places at the stack's root).
    const provider = Stack.of(this).node.findChild(
      `AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, "")}`,
    ) as lambda.Function;
    return { role, logGroup, provider };
  }
}

/** A call CDK's AwsCustomResource makes at deploy, and what cdk-nag's findings are acknowledged on. */
interface DeployTimeCall {
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly provider: lambda.Function;
}
