// The serverless control plane: the ledger table, the snapshot bucket, the six Lambdas from the built
// bundles, the two certificate authorities' KMS keys, the EventBridge rules that deliver lifecycle
// events and the reconcile, defragmentation and snapshot schedules (with retries and a dead-letter
// queue), the node API's function URL, and each function's least-privilege role. The only
// statements on Resource "*" sit in two policies of their own, so cdk-nag's wildcard check can
// accept exactly those and still report a "*" anywhere else.
import * as path from "node:path";
import { ArnFormat, Duration, RemovalPolicy, Stack, Tags } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { SCHEDULED_DEFRAGMENTATION_INPUT } from "../../lambdas/events/reconcile-event";
import { NODE_API_WARM_UP_INPUT } from "../../lambdas/events/warm-up-event";
import { CertificateAuthorities } from "./certificate-authorities";
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT } from "./cluster-network";
import { durabilityEnvironment } from "./durability-props";
import { type FunctionName, RECONCILE_PERIOD, type ResolvedProps } from "./etcd-cluster-props";
import { FUNCTION_MEMORY_MB, SNAPSHOT_FUNCTION_MEMORY_MB } from "./function-memory";
import { FUNCTION_TAG } from "./function-tag";

/** The bound on one defragmentation: the reconciler (55 s) starts an upkeep step only while this and
 * 10 s more are left, so a pass's repairs have about 15 s before upkeep stops for the pass. */
const DEFRAG_TIMEOUT_SECONDS = 30;

export interface ControlPlaneProps {
  readonly config: ResolvedProps;
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
  /** Fixed before the ASG exists, so the functions need no reference to it (no dependency cycle). */
  readonly autoScalingGroupName: string;
  readonly launchHookName: string;
  readonly terminateHookName: string;
  /** The nodes' role: the node API accepts only its sessions (INSTANCE_ROLE_ARN). */
  readonly nodeRoleArn: string;
}

export class ControlPlane extends Construct {
  readonly ledgerTable: dynamodb.Table;
  readonly deadLetterQueue: sqs.Queue;
  readonly functions: Readonly<Record<FunctionName, lambda.Function>>;
  readonly nodeApiUrl: lambda.FunctionUrl;
  /** The etcd snapshots, keyed by cluster, token and revision (lambdas/adapters/snapshots). */
  readonly snapshotBucket: s3.Bucket;
  /** The cluster's objects in it: keys start with the cluster's name (lambdas/adapters/snapshots/keys.ts). */
  readonly snapshotObjectsArn: string;
  /** The rules that deliver lifecycle events; the ASG must not launch before they exist. */
  readonly lifecycleRules: readonly events.Rule[];
  /** The first of them: launch events to the launch hook, and the warm-up input to the node API. */
  readonly launchRule: events.Rule;
  /** One role per function. */
  readonly roles: Readonly<Record<FunctionName, iam.Role>>;
  /** One log group per function. */
  readonly logGroups: Readonly<Record<FunctionName, logs.LogGroup>>;
  /** The CA keys, in KMS. */
  readonly certificateAuthorities: CertificateAuthorities;
  /** autoscaling:DescribeAutoScalingGroups and ec2:DescribeInstances on "*", for every function. */
  readonly describePolicy: iam.ManagedPolicy;
  /** The network-interface actions Lambda needs to place a function in the VPC, on "*". */
  readonly networkInterfacePolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: ControlPlaneProps) {
    super(scope, id);
    const { config } = props;

    this.ledgerTable = new dynamodb.Table(this, "Ledger", {
      partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
      sortKey: { name: "sk", type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: "expiresAt",
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // The ledger fixes the cluster's token and initial member set; losing it with a stack delete
      // would let a redeploy bootstrap a second cluster over surviving data volumes.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.deadLetterQueue = new sqs.Queue(this, "DeadLetterQueue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    this.describePolicy = new iam.ManagedPolicy(this, "DescribeGroupAndInstances", {
      description: `etcd-asg control plane of ${props.autoScalingGroupName}: read the group and its instances`,
      statements: [
        // Neither action has a resource type in the Service Authorization Reference: "*" is the
        // only resource IAM accepts. The handlers read only, and only this group and its instances.
        new iam.PolicyStatement({
          sid: "DescribeGroupAndInstances",
          actions: ["autoscaling:DescribeAutoScalingGroups", "ec2:DescribeInstances"],
          resources: ["*"],
        }),
      ],
    });
    this.networkInterfacePolicy = new iam.ManagedPolicy(this, "NetworkInterfacesInTheVpc", {
      description: `etcd-asg control plane of ${props.autoScalingGroupName}: Lambda's network interfaces in the VPC`,
      statements: [
        // What AWSLambdaVPCAccessExecutionRole grants, for the functions' network interfaces: Lambda
        // creates them with the execution role before their IDs exist, DescribeNetworkInterfaces
        // and DescribeSubnets have no resource type, and AWS's own policy uses "*" too.
        new iam.PolicyStatement({
          sid: "NetworkInterfacesInTheVpc",
          actions: [
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
          ],
          resources: ["*"],
        }),
      ],
    });

    this.snapshotBucket = new s3.Bucket(this, "Snapshots", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // An overwritten or pruned snapshot stays recoverable as a noncurrent version for a week; the
      // snapshot function's retention tiers decide which current objects go (never the newest).
      versioned: true,
      lifecycleRules: [
        {
          noncurrentVersionExpiration: Duration.days(7),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      // The snapshots are what a lost cluster comes back from: a stack delete must not take them.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.snapshotObjectsArn = this.snapshotBucket.arnForObjects(`${config.clusterName}/*`);

    const durability = durabilityEnvironment(config.durability);
    const environment: Record<string, string> = {
      CLUSTER_NAME: config.clusterName,
      ASG_NAME: props.autoScalingGroupName,
      LEDGER_TABLE: this.ledgerTable.tableName,
      CLUSTER_SIZE: String(config.clusterSize),
      JOIN_STRATEGY: config.joinStrategy,
      LAUNCH_HOOK_NAME: props.launchHookName,
      TERMINATE_HOOK_NAME: props.terminateHookName,
      ETCD_CLIENT_PORT: String(ETCD_CLIENT_PORT),
      ETCD_PEER_PORT: String(ETCD_PEER_PORT),
      // Every handler loads the same configuration (lambdas/config.ts), which requires it.
      INSTANCE_ROLE_ARN: props.nodeRoleArn,
      NODE_CERTIFICATE_LIFETIME_SECONDS: String(config.certificateLifetime.toSeconds()),
      // etcd's backend quota follows the data volume (lambdas/domain/etcd-storage.ts).
      DATA_VOLUME_GIB: String(config.dataVolumeGiB),
      // One defragmentation must fit in the reconciler's 55 s with the pass's repairs before it.
      DEFRAG_TIMEOUT_SECONDS: String(DEFRAG_TIMEOUT_SECONDS),
      HEALTH_GRACE_SECONDS: String(config.healthGracePeriod.toSeconds()),
      ...durability.all,
      POWERTOOLS_SERVICE_NAME: "etcd-asg",
      POWERTOOLS_LOG_LEVEL: "INFO",
    };
    const roles: Partial<Record<FunctionName, iam.Role>> = {};
    const logGroups: Partial<Record<FunctionName, logs.LogGroup>> = {};
    const fn = (name: FunctionName, options: Partial<lambda.FunctionProps>): lambda.Function => {
      const logGroup = new logs.LogGroup(this, `${pascal(name)}Logs`, {
        retention: config.logRetention,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      logGroups[name] = logGroup;
      const role = this.functionRole(name, props.autoScalingGroupName, logGroup);
      roles[name] = role;
      const created = new lambda.Function(this, pascal(name), {
        description: `etcd-asg ${name} for cluster ${config.clusterName}`,
        // Node 24: Node 22 leaves maintenance in April 2027 and Lambda deprecates a runtime soon after;
        // the bundles target it (scripts/build-lambdas.ts) and the simulator runs them on it.
        runtime: lambda.Runtime.NODEJS_24_X,
        // The bundles are plain JavaScript (etcd3 uses the pure-JS gRPC client): Graviton is cheaper.
        architecture: lambda.Architecture.ARM_64,
        code: lambda.Code.fromAsset(path.join(config.lambdaBundlesDir, name)),
        handler: "lib/index.handler",
        memorySize: FUNCTION_MEMORY_MB,
        environment,
        vpc: props.vpc,
        vpcSubnets: props.vpcSubnets,
        securityGroups: [props.securityGroup],
        logGroup,
        role,
        ...options,
      });
      // Which control-plane function this is, for operators and tools (and the simulator, which runs
      // the functions so tagged).
      Tags.of(created).add(FUNCTION_TAG, name);
      return created;
    };

    // Membership changes are serialised: one launch, one terminate and one reconcile at a time.
    // The ledger lock serialises them across functions; a concurrency of 1 keeps a burst of events
    // from piling up contenders for that lock.
    const lifecycleOptions: Partial<lambda.FunctionProps> = {
      timeout: Duration.minutes(1),
      reservedConcurrentExecutions: 1,
      retryAttempts: 2,
      deadLetterQueue: this.deadLetterQueue,
    };
    const launchHook = fn("launch-hook", lifecycleOptions);
    const terminateHook = fn("terminate-hook", lifecycleOptions);
    const reconciler = fn("reconciler", {
      // Shorter than the schedule's period, so one pass ends before the next begins; a missed
      // pass is not retried because the next one a minute later does the same work.
      timeout: Duration.seconds(55),
      reservedConcurrentExecutions: 1,
      retryAttempts: 0,
      maxEventAge: Duration.minutes(1),
    });
    // Every booting node calls the node API, so it is not limited to 1: it reads freely and takes
    // the ledger's membership lock before any change, which serialises it with the functions above.
    // A node holds a call up to 10 s while its record is unpublished, so each node booting or
    // renewing at once takes one execution; twice the cluster size leaves room for a full cluster
    // and as many replacements, and keeps that room for it whatever else runs in the account. A
    // throttled call (429) is retried by the boot script.
    const nodeApi = fn("node-api", {
      timeout: Duration.seconds(30),
      reservedConcurrentExecutions: 2 * config.clusterSize,
    });
    // Invoked by users (npx etcd-asg client-cert), authorized by IAM alone. Two at a time: whoever may
    // invoke it cannot take the account's concurrency from the control plane, nor have the client
    // CA sign without bound.
    const clientCert = fn("client-cert", {
      timeout: Duration.seconds(30),
      reservedConcurrentExecutions: 2,
    });
    // Streams one member's snapshot into the bucket: a 15-minute timeout leaves a large store time to
    // stream. Two at a time, so an operator's `etcd-asg snapshot` is not throttled by a scheduled run
    // (the ledger keeps the newer record of two). A failed scheduled run is not retried (the next
    // interval takes one); it goes to the dead-letter queue, whose alarm reports it.
    const snapshot = fn("snapshot", {
      timeout: Duration.minutes(15),
      memorySize: SNAPSHOT_FUNCTION_MEMORY_MB,
      reservedConcurrentExecutions: 2,
      retryAttempts: 0,
      deadLetterQueue: this.deadLetterQueue,
      environment: {
        ...environment,
        SNAPSHOT_BUCKET: this.snapshotBucket.bucketName,
        ...durability.snapshot,
      },
    });
    // Recovery (issue 15): the reconciler's recovery step asks the snapshot function to copy a
    // surviving member's data; the node API presigns the GET of the snapshot a node restores (the
    // node role has no S3 rights), with its own role's s3:GetObject on the cluster's objects.
    reconciler.addEnvironment("SNAPSHOT_FUNCTION_NAME", snapshot.functionName);
    reconciler.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "AskForSnapshots",
        actions: ["lambda:InvokeFunction"],
        resources: [snapshot.functionArn],
      }),
    );
    nodeApi.addEnvironment("SNAPSHOT_BUCKET", this.snapshotBucket.bucketName);
    this.functions = {
      "launch-hook": launchHook,
      "terminate-hook": terminateHook,
      reconciler,
      "node-api": nodeApi,
      "client-cert": clientCert,
      snapshot,
    };
    this.roles = roles as Record<FunctionName, iam.Role>;
    this.logGroups = logGroups as Record<FunctionName, logs.LogGroup>;

    this.certificateAuthorities = new CertificateAuthorities(this, "CertificateAuthorities", {
      clusterName: config.clusterName,
      peerSigners: [this.roles["node-api"]],
      clientSigners: Object.values(this.roles),
    });
    for (const created of Object.values(this.functions)) {
      created.addEnvironment("PEER_CA_KEY_ARN", this.certificateAuthorities.peerCaKey.keyArn);
      created.addEnvironment("CLIENT_CA_KEY_ARN", this.certificateAuthorities.clientCaKey.keyArn);
    }

    this.nodeApiUrl = nodeApi.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });

    const lifecycleEvent = (
      detailType: string,
      hookName: string,
      handler: lambda.IFunction,
      ...more: events.IRuleTarget[]
    ): events.Rule =>
      new events.Rule(this, `${hookName === props.launchHookName ? "Launch" : "Terminate"}Rule`, {
        description: `${detailType} of ${props.autoScalingGroupName} to the etcd-asg control plane`,
        eventPattern: {
          source: ["aws.autoscaling"],
          detailType: [detailType],
          detail: { AutoScalingGroupName: [props.autoScalingGroupName], LifecycleHookName: [hookName] },
        },
        targets: [
          new targets.LambdaFunction(handler, {
            deadLetterQueue: this.deadLetterQueue,
            retryAttempts: 10,
            maxEventAge: Duration.hours(1),
          }),
          ...more,
        ],
      });
    // A launching node's first requests find the node API warm: its CAs, identity and etcd client
    // loaded while the instance boots. Best effort, so neither retried nor dead-lettered.
    const warmNodeApi = new targets.LambdaFunction(nodeApi, {
      event: events.RuleTargetInput.fromObject(NODE_API_WARM_UP_INPUT),
      retryAttempts: 0,
      maxEventAge: Duration.minutes(1),
    });
    this.launchRule = lifecycleEvent(
      "EC2 Instance-launch Lifecycle Action",
      props.launchHookName,
      launchHook,
      warmNodeApi,
    );
    this.lifecycleRules = [
      this.launchRule,
      lifecycleEvent("EC2 Instance-terminate Lifecycle Action", props.terminateHookName, terminateHook),
    ];

    new events.Rule(this, "ReconcileSchedule", {
      description: `Reconciles etcd membership of ${props.autoScalingGroupName} with its instances`,
      schedule: events.Schedule.rate(RECONCILE_PERIOD),
      targets: [
        new targets.LambdaFunction(reconciler, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 2,
          maxEventAge: Duration.minutes(1),
        }),
      ],
    });
    // The same reconciler with a constant input: its pass's upkeep also defragments members with
    // space worth reclaiming. A run throttled by a reconcile pass (concurrency 1) is retried by
    // Lambda within the reconciler's 1-minute event age; a run lost altogether waits for the next.
    new events.Rule(this, "DefragmentationSchedule", {
      description: `Defragments the etcd members of ${props.autoScalingGroupName}, one at a time, the leader last`,
      schedule: config.defragmentationSchedule,
      targets: [
        new targets.LambdaFunction(reconciler, {
          event: events.RuleTargetInput.fromObject(SCHEDULED_DEFRAGMENTATION_INPUT),
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 2,
          maxEventAge: Duration.minutes(5),
        }),
      ],
    });
    new events.Rule(this, "SnapshotSchedule", {
      description: `Takes an etcd snapshot of ${props.autoScalingGroupName} when one is due`,
      schedule: events.Schedule.rate(config.durability.snapshotInterval),
      targets: [
        new targets.LambdaFunction(snapshot, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 2,
          maxEventAge: Duration.minutes(5),
        }),
      ],
    });
  }

  /**
   * One role per function, its policies in the role (inline, and the two "*" policies attached by
   * ARN) so they exist before the function is created (Lambda checks the network-interface rights
   * then). Every function loads the same snapshot (group, instances, ledger) and may complete the
   * lifecycle actions it concerns; the reconciler may also mark an instance of the group Unhealthy.
   */
  private functionRole(name: FunctionName, autoScalingGroupName: string, logGroup: logs.ILogGroup): iam.Role {
    const writeOwnLogs = new iam.PolicyStatement({
      sid: "WriteOwnLogs",
      actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
      resources: [logGroup.logGroupArn],
    });
    if (name === "snapshot") return this.snapshotRole(name, autoScalingGroupName, writeOwnLogs);
    if (name === "client-cert") {
      // It reads (and, first of all, publishes) the CA certificates in the ledger and signs through
      // the client CA's key policy: nothing of the group, the instances or etcd.
      return new iam.Role(this, `${pascal(name)}Role`, {
        assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
        description: `etcd-asg ${name}: issue etcd client certificates for ${autoScalingGroupName}`,
        inlinePolicies: {
          ControlPlane: new iam.PolicyDocument({
            statements: [
              writeOwnLogs,
              new iam.PolicyStatement({
                sid: "ReadAndPublishCaCertificates",
                actions: ["dynamodb:GetItem", "dynamodb:PutItem"],
                resources: [this.ledgerTable.tableArn],
              }),
            ],
          }),
        },
        managedPolicies: [this.networkInterfacePolicy],
      });
    }
    const statements = [
      new iam.PolicyStatement({
        sid: "CompleteLifecycleActionsOfThisGroup",
        actions: ["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"],
        resources: [autoScalingGroupArn(this, autoScalingGroupName)],
      }),
      writeOwnLogs,
      new iam.PolicyStatement({
        sid: "ReadWriteLedger",
        actions: [
          "dynamodb:BatchGetItem",
          "dynamodb:ConditionCheckItem",
          "dynamodb:DeleteItem",
          "dynamodb:GetItem",
          "dynamodb:PutItem",
          "dynamodb:Query",
          "dynamodb:Scan",
          "dynamodb:UpdateItem",
        ],
        resources: [this.ledgerTable.tableArn],
      }),
    ];
    if (name === "node-api") {
      // A node restoring a snapshot downloads it through a GET this role presigns (issue 15).
      statements.push(
        new iam.PolicyStatement({
          sid: "PresignSnapshotDownloads",
          actions: ["s3:GetObject"],
          resources: [this.snapshotObjectsArn],
        }),
      );
    }
    if (name === "reconciler") {
      // An in-service instance whose member was removed cannot serve again: the reconciler marks it
      // Unhealthy and the group replaces it.
      statements.push(
        new iam.PolicyStatement({
          sid: "ReplaceInstancesOfThisGroup",
          actions: ["autoscaling:SetInstanceHealth"],
          resources: [autoScalingGroupArn(this, autoScalingGroupName)],
        }),
      );
    }
    return new iam.Role(this, `${pascal(name)}Role`, {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `etcd-asg ${name}: manage the etcd membership of ${autoScalingGroupName}`,
      inlinePolicies: { ControlPlane: new iam.PolicyDocument({ statements }) },
      managedPolicies: [this.describePolicy, this.networkInterfacePolicy],
    });
  }

  /**
   * The snapshot function reads the group, its instances and the ledger, records snapshots in the
   * ledger, and writes, reads, tags, lists and deletes this cluster's objects in the bucket: nothing
   * of the group's lifecycle, and no object of another cluster.
   */
  private snapshotRole(
    name: FunctionName,
    autoScalingGroupName: string,
    writeOwnLogs: iam.PolicyStatement,
  ): iam.Role {
    return new iam.Role(this, `${pascal(name)}Role`, {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `etcd-asg ${name}: etcd snapshots of ${autoScalingGroupName} into S3`,
      inlinePolicies: {
        ControlPlane: new iam.PolicyDocument({
          statements: [
            writeOwnLogs,
            new iam.PolicyStatement({
              sid: "ReadLedgerRecordSnapshots",
              actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
              resources: [this.ledgerTable.tableArn],
            }),
            new iam.PolicyStatement({
              sid: "ListSnapshots",
              actions: ["s3:ListBucket"],
              resources: [this.snapshotBucket.bucketArn],
            }),
            new iam.PolicyStatement({
              sid: "WriteReadPruneSnapshots",
              actions: [
                "s3:PutObject",
                "s3:GetObject",
                "s3:PutObjectTagging",
                "s3:GetObjectTagging",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
              ],
              resources: [this.snapshotObjectsArn],
            }),
          ],
        }),
      },
      managedPolicies: [this.describePolicy, this.networkInterfacePolicy],
    });
  }
}

/**
 * The group's ARN as IAM matches it. The ARN carries a UUID assigned at creation, which no template
 * attribute exposes; the name part pins the statement to this group.
 */
export function autoScalingGroupArn(scope: Construct, autoScalingGroupName: string): string {
  return Stack.of(scope).formatArn({
    service: "autoscaling",
    resource: "autoScalingGroup",
    resourceName: `*:autoScalingGroupName/${autoScalingGroupName}`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, _dash: string, letter: string) => letter.toUpperCase());
}
