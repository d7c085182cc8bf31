// The cdk-nag findings EtcdCluster accepts, from the three packs the app runs (AwsSolutions,
// Serverless, NIST 800-53 R5), each with the reason it holds. Each is acknowledged on the one
// CloudFormation resource that needs it (never on a construct whose children would inherit it) and,
// for IAM5, as the exact finding (`AwsSolutions-IAM5[Resource::*]`), so a new wildcard on any role
// or policy, a new function, queue, table, log group, topic or route, or a new managed policy is
// still reported. test/cdk/checks.test.ts proves it by adding each and expecting the finding.
//
// Fixed rather than acknowledged: the public subnets give no public IP on launch and the new VPC's
// default security group is closed (cluster-network.ts); the node API and client-cert reserve
// concurrency (control-plane.ts); the deploy-time function has its memory set (etcd-cluster.ts); the
// functions run the latest Node.js runtime, so AwsSolutions-L1 needs nothing.
import { CfnResource, Stack, Validations } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import type * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { IConstruct } from "constructs";
import type { FunctionName } from "./etcd-cluster-props";

export interface NagAcknowledged {
  /** autoscaling:DescribeAutoScalingGroups and ec2:DescribeInstances on "*" (IAM5 Resource::*). */
  readonly describePolicy: iam.ManagedPolicy;
  /** Lambda's VPC network-interface actions on "*" (IAM5 Resource::*). */
  readonly networkInterfacePolicy: iam.ManagedPolicy;
  /** Roles whose inline statements name the group by its ARN, whose UUID part is a wildcard. */
  readonly groupArnRoles: readonly iam.Role[];
  readonly autoScalingGroupArn: string;
  /** The control plane's functions. */
  readonly functions: Readonly<Record<FunctionName, lambda.Function>>;
  /** CDK's provider function behind the deploy-time AwsCustomResource (AZRebalance). */
  readonly deployTimeFunction: lambda.Function;
  readonly deadLetterQueue: sqs.Queue;
  /** The launch rule, whose second target (the node API's warm-up) has no dead-letter queue. */
  readonly launchRule: events.Rule;
  readonly ledgerTable: dynamodb.Table;
  readonly snapshotBucket: s3.Bucket;
  readonly snapshotRole: iam.Role;
  /** The snapshot role's object ARN: the cluster's key prefix in the bucket (`<clusterName>/*`). */
  readonly snapshotObjectsArn: string;
  /** Every log group the construct creates. */
  readonly logGroups: readonly logs.LogGroup[];
  /** Roles with an inline policy of their own (Policies) or a DefaultPolicy CDK's grants made. */
  readonly rolesWithInlinePolicies: readonly iam.IRole[];
  /** The alarm topic, when the construct created it (not one passed as alarmTopic). */
  readonly alarmTopic: sns.Topic | undefined;
  /** The public subnets of a VPC the construct created (none with an imported VPC). */
  readonly publicSubnets: readonly ec2.PublicSubnet[];
}

export function acknowledgeNagFindings(acknowledged: NagAcknowledged): void {
  acknowledgeAwsSolutions(acknowledged);
  acknowledgeServerless(acknowledged);
  acknowledgeNist80053R5(acknowledged);
}

// Reasons more than one pack's rule shares.

const SYNCHRONOUS_ONLY =
  "Invoked synchronously only: by `npx etcd-asg client-cert`, which waits for the certificate. Lambda " +
  "sends only asynchronous invocations to a dead-letter queue, so one would never receive anything; a " +
  "failure is returned to the caller.";

const NODE_API_REQUESTS =
  "A node's requests come synchronously through the function URL (the node role may invoke it only " +
  "via the URL), and a failure is returned to the boot script, which retries 429 and 5xx. The one " +
  "asynchronous invocation, the launch rule's warm-up input, is best effort and never fails the " +
  "invocation (a failed warm-up is logged), so a dead-letter queue would receive nothing worth an alarm.";

const RECONCILER_PASS_IS_REDONE =
  "A failed reconcile pass is neither retried nor kept, on purpose (retries 0, maximum event age 60 s): " +
  "the schedule runs the same pass a minute later. A record of each failure would raise the " +
  "dead-letter alarm for a passing conflict on the ledger's lock with a lifecycle function; the " +
  "ReconcilerFailing alarm (most passes failing for 15 minutes) reports a reconciler that keeps failing.";

const DEPLOY_TIME_ONLY =
  "CDK's AwsCustomResource provider, invoked by CloudFormation only while a deploy suspends AZRebalance " +
  "(one autoscaling:SuspendProcesses call on this group). Its outcome goes to CloudFormation, which " +
  "shows a failure in the stack events and rolls back; a dead-letter record could not be replayed (its " +
  "presigned response URL expires), and it receives no traffic but CloudFormation's.";

const ONE_ROLE_ONE_POLICY =
  "An inline policy keeps the strict one-to-one relation between a policy and its role (IAM user " +
  "guide, managed vs inline): these statements are for this role alone and cannot be attached to " +
  "another identity. The template in git versions them, and test/cdk/etcd-cluster.test.ts pins each " +
  "role's statements; what several roles share is already a customer-managed policy.";

const SNAPSHOT_ACCESS_AUDIT =
  "Only the snapshot function's role reads or writes the snapshot bucket (the node role has no S3 " +
  "rights) and public access is blocked; CloudTrail S3 data events, which the account can turn on for " +
  "this bucket, record each call with its identity without a second bucket to keep and secure.";

const SNAPSHOT_AFTER_FAILURE =
  "A scheduled snapshot this function fails on already goes to its dead-letter queue (DeadLetterConfig: " +
  "the cluster's queue, whose first message raises the DeadLetters alarm); an on-failure destination " +
  "too would put a second record of the same failure in that queue.";

function acknowledgeAwsSolutions(acknowledged: NagAcknowledged): void {
  acknowledgeOn(acknowledged.snapshotBucket, { id: "AwsSolutions-S1", reason: SNAPSHOT_ACCESS_AUDIT });
  // The node API's role reads the same objects: it presigns the GET of the snapshot a node restores.
  const nodeApiRole = acknowledged.functions["node-api"].role;
  for (const role of nodeApiRole === undefined
    ? [acknowledged.snapshotRole]
    : [acknowledged.snapshotRole, nodeApiRole]) {
    acknowledgeOn(role, {
      id: `AwsSolutions-IAM5[Resource::${nagFlatten(Stack.of(role).resolve(acknowledged.snapshotObjectsArn))}]`,
      reason:
        "The objects' keys are made at run time from the cluster token and the revision; the wildcard " +
        "follows this cluster's prefix in the stack's own snapshot bucket, so no other object is reachable.",
    });
  }
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

function acknowledgeServerless(acknowledged: NagAcknowledged): void {
  const { functions } = acknowledged;
  for (const name of ["launch-hook", "terminate-hook"] as const) {
    acknowledgeOn(functions[name].node.findChild("EventInvokeConfig"), {
      id: "Serverless-LambdaAsyncFailureDestination",
      reason:
        "A lifecycle event this function fails on after its retries already goes to its dead-letter " +
        "queue (DeadLetterConfig: the cluster's queue, whose first message raises the DeadLetters alarm). " +
        "An on-failure destination too would put a second record of the same failure in that queue.",
    });
  }
  acknowledgeOn(functions.snapshot.node.findChild("EventInvokeConfig"), {
    id: "Serverless-LambdaAsyncFailureDestination",
    reason: SNAPSHOT_AFTER_FAILURE,
  });
  acknowledgeOn(functions.reconciler.node.findChild("EventInvokeConfig"), {
    id: "Serverless-LambdaAsyncFailureDestination",
    reason: RECONCILER_PASS_IS_REDONE,
  });
  acknowledgeOn(functions["node-api"], { id: "Serverless-LambdaDLQ", reason: NODE_API_REQUESTS });
  acknowledgeOn(functions["client-cert"], { id: "Serverless-LambdaDLQ", reason: SYNCHRONOUS_ONLY });
  acknowledgeOn(functions.reconciler, { id: "Serverless-LambdaDLQ", reason: RECONCILER_PASS_IS_REDONE });
  acknowledgeOn(acknowledged.deployTimeFunction, { id: "Serverless-LambdaDLQ", reason: DEPLOY_TIME_ONLY });
  for (const fn of Object.values(functions)) {
    acknowledgeOn(fn, {
      id: "Serverless-LambdaTracing",
      reason:
        "The handlers instrument none of their clients (no X-Ray SDK or Powertools Tracer in lambdas/), " +
        "so an active trace would hold only Lambda's own invocation segment, which the function's " +
        "Duration and Errors metrics and its JSON logs (one line per invocation, with its keys) already " +
        "give; tracing would also add xray:PutTraceSegments on '*' to every role. Revisit when the " +
        "handlers trace their AWS and etcd calls.",
    });
  }
  acknowledgeOn(acknowledged.deployTimeFunction, {
    id: "Serverless-LambdaTracing",
    reason: `${DEPLOY_TIME_ONLY} One SDK call per deploy has nothing to trace that its log does not show.`,
  });
  acknowledgeOn(acknowledged.launchRule, {
    id: "Serverless-EventBusDLQ",
    reason:
      "The launch rule's first target, the launch hook, has the cluster's dead-letter queue. Its second, " +
      "the node API's warm-up input, is best effort and sent once: a lost one costs the launching node " +
      "one cold start of the node API, and a dead letter for it would raise the DeadLetters alarm, which " +
      "asks an operator to act, with nothing to act on.",
  });
  acknowledgeOn(acknowledged.deadLetterQueue, {
    id: "Serverless-SQSRedrivePolicy",
    reason:
      "This queue is the dead-letter queue itself: the last stop of lifecycle events and schedule runs " +
      "the control plane could not handle. No consumer receives from it (an operator reads it when the " +
      "DeadLetters alarm fires), and a redrive policy moves what a consumer failed on to a further queue.",
  });
}

function acknowledgeNist80053R5(acknowledged: NagAcknowledged): void {
  const { functions } = acknowledged;
  for (const logGroup of acknowledged.logGroups) {
    acknowledgeOn(logGroup, {
      id: "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
      reason:
        "CloudWatch Logs encrypts every log group at rest with keys it manages. These hold the control " +
        "plane's JSON logs (instance IDs, private IPs, member IDs, decisions, public certificates) and " +
        "rejected flows, never a private key: CA keys stay in KMS, node keys on the node, Lambda keys in " +
        "memory. A customer-managed key would add a key policy to keep right for the logs service and the " +
        "stack's deletion, and take nothing secret out of reach.",
    });
  }
  const { snapshotBucket } = acknowledged;
  acknowledgeOn(snapshotBucket, {
    id: "NIST.800.53.R5-S3BucketLoggingEnabled",
    reason: SNAPSHOT_ACCESS_AUDIT,
  });
  acknowledgeOn(snapshotBucket, {
    id: "NIST.800.53.R5-S3BucketReplicationEnabled",
    reason:
      "The snapshots are themselves the copy of the cluster's data, in the cluster's region, versioned and " +
      "retained when the stack is deleted. A copy in another region needs a destination bucket and a " +
      "replication role the operator chooses (docs/disaster-recovery.md says how); a cluster in one " +
      "region does not come back in another from it alone.",
  });
  acknowledgeOn(snapshotBucket, {
    id: "NIST.800.53.R5-S3DefaultEncryptionKMS",
    reason:
      "SSE-S3 encrypts every object at rest (AES-256) and the bucket refuses requests without TLS. The " +
      "snapshots hold the etcd data that the nodes' EBS volumes hold; a customer-managed key would add a " +
      "key policy and, for a restoring node's presigned URL, KMS rights for the presigning role, with no " +
      "reader shut out that the bucket's IAM does not already shut out.",
  });
  acknowledgeOn(acknowledged.ledgerTable, {
    id: "NIST.800.53.R5-DynamoDBInBackupPlan",
    reason:
      "Point-in-time recovery is on (continuous backups, restorable to any second of the last 35 days) and " +
      "the table is retained when the stack is deleted. The ledger is the live cluster's state (lock, " +
      "generation, initial members, node records, CA certificates): a copy older than that describes " +
      "members that no longer exist, and restoring it would be wrong, not safe. The etcd data's own " +
      "backups are the snapshots.",
  });
  for (const role of acknowledged.rolesWithInlinePolicies) {
    const cfnRole = role.node.defaultChild as iam.CfnRole;
    if (Stack.of(role).resolve(cfnRole.policies) !== undefined) {
      acknowledgeOn(cfnRole, { id: "NIST.800.53.R5-IAMNoInlinePolicy", reason: ONE_ROLE_ONE_POLICY });
    }
    const defaultPolicy = role.node.tryFindChild("DefaultPolicy");
    if (defaultPolicy instanceof iam.Policy) {
      acknowledgeOn(defaultPolicy, {
        id: "NIST.800.53.R5-IAMNoInlinePolicy",
        reason: `CDK's grants put this role's statements in a policy of its own. ${ONE_ROLE_ONE_POLICY}`,
      });
    }
  }
  acknowledgeOn(acknowledged.deployTimeFunction, {
    id: "NIST.800.53.R5-LambdaConcurrency",
    reason: `${DEPLOY_TIME_ONLY} It runs once per deploy; a reservation would take concurrency from the account for nothing.`,
  });
  acknowledgeOn(functions["node-api"], { id: "NIST.800.53.R5-LambdaDLQ", reason: NODE_API_REQUESTS });
  acknowledgeOn(functions["client-cert"], { id: "NIST.800.53.R5-LambdaDLQ", reason: SYNCHRONOUS_ONLY });
  acknowledgeOn(functions.reconciler, { id: "NIST.800.53.R5-LambdaDLQ", reason: RECONCILER_PASS_IS_REDONE });
  acknowledgeOn(acknowledged.deployTimeFunction, {
    id: "NIST.800.53.R5-LambdaDLQ",
    reason: DEPLOY_TIME_ONLY,
  });
  acknowledgeOn(acknowledged.deployTimeFunction, {
    id: "NIST.800.53.R5-LambdaInsideVPC",
    reason:
      `${DEPLOY_TIME_ONLY} It has no inbound path and calls only the Auto Scaling API over TLS; in the ` +
      "VPC it would need the network-interface rights and the NAT gateway at deploy, and reach the same API.",
  });
  if (acknowledged.alarmTopic !== undefined) {
    acknowledgeOn(acknowledged.alarmTopic, {
      id: "NIST.800.53.R5-SNSEncryptedKMS",
      reason:
        "The topic carries alarm state changes and the group's scaling notifications (alarm names, " +
        "thresholds, instance IDs), nothing secret, and refuses publishing without TLS. Encrypting it needs " +
        "a customer-managed key that CloudWatch and Auto Scaling's service-linked role may use (the " +
        "AWS-managed SNS key does not let CloudWatch publish); a wrong key policy silently loses alarms. " +
        "Pass alarmTopic to send them to an encrypted topic of your own.",
    });
  }
  for (const subnet of acknowledged.publicSubnets) {
    acknowledgeOn(subnet.node.findChild("DefaultRoute"), {
      id: "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",
      reason:
        "A public subnet's route to the internet gateway is how its NAT gateway reaches the AWS APIs, the " +
        "node API and the etcd download for the private subnets. Nothing else runs in the public subnets " +
        "(the nodes and the Lambdas are in the private ones) and they give no public IP on launch.",
    });
  }
}

/**
 * On the construct's CloudFormation resource, not on the construct: cdk-nag honours an
 * acknowledgement on a resource's ancestors, so one on the L2 role would also cover a policy added to
 * it later (role/DefaultPolicy).
 */
function acknowledgeOn(construct: IConstruct, acknowledgement: { id: string; reason: string }): void {
  const resource = CfnResource.isCfnResource(construct)
    ? construct
    : (construct.node.defaultChild as CfnResource | undefined);
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
    if ("Fn::GetAtt" in value && Array.isArray(value["Fn::GetAtt"])) {
      return `<${value["Fn::GetAtt"].map(String).join(".")}>`;
    }
    if ("Fn::Join" in value && Array.isArray(value["Fn::Join"])) {
      const [delimiter, parts] = value["Fn::Join"] as [string, unknown[]];
      return parts.map(nagFlatten).join(delimiter);
    }
  }
  return JSON.stringify(value);
}
