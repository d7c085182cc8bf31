// What the synthesized stack holds for snapshots (issue 15): the bucket, the snapshot function with
// its role, its schedule and the output the CLI finds it by.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Match, type Template } from "aws-cdk-lib/assertions";
import { type Fixture, makeFixture, synthesize } from "./synth-fixture";

let fixture: Fixture | undefined;
let template: Template;
before(() => {
  fixture = makeFixture();
  ({ template } = synthesize(fixture));
});
after(() => fixture?.remove());

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };

const idOf = (type: string, fragment: string): string => {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.includes(fragment));
  assert.equal(ids.length, 1, `one ${type} named like ${fragment}; found ${ids.join(", ")}`);
  return ids[0] as string;
};
const resourceOf = (type: string, fragment: string): Resource =>
  template.findResources(type)[idOf(type, fragment)] as Resource;
const nodeApiId = () => idOf("AWS::Lambda::Function", "ControlPlaneNodeApi");
const variablesOf = (fn: Resource) =>
  (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
const statementsOf = (resource: Resource): Record<string, unknown>[] =>
  [resource.Properties.Policies ?? [resource.Properties]]
    .flat()
    .flatMap(
      (p) => (p as { PolicyDocument: { Statement: Record<string, unknown>[] } }).PolicyDocument.Statement,
    );

test("the bucket is encrypted, versioned, private, TLS only, retained, and expires old versions", () => {
  const bucket = resourceOf("AWS::S3::Bucket", "ControlPlaneSnapshots");
  assert.equal(bucket.DeletionPolicy, "Retain");
  template.hasResourceProperties("AWS::S3::Bucket", {
    BucketEncryption: {
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
    },
    VersioningConfiguration: { Status: "Enabled" },
    PublicAccessBlockConfiguration: {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    },
    LifecycleConfiguration: {
      Rules: [
        Match.objectLike({
          NoncurrentVersionExpiration: { NoncurrentDays: 7 },
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          Status: "Enabled",
        }),
      ],
    },
  });
  const policy = resourceOf("AWS::S3::BucketPolicy", "ControlPlaneSnapshots");
  const statements = (policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
  assert.ok(
    statements.some(
      (s) =>
        s.Effect === "Deny" &&
        JSON.stringify(s.Condition) === JSON.stringify({ Bool: { "aws:SecureTransport": "false" } }),
    ),
    "requests without TLS are denied",
  );
});

test("the snapshot function is told its bucket and interval, runs 15 minutes with 512 MB, two at a time", () => {
  const fn = resourceOf("AWS::Lambda::Function", "ControlPlaneSnapshot");
  const bucketId = idOf("AWS::S3::Bucket", "ControlPlaneSnapshots");
  const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  assert.deepEqual(env.SNAPSHOT_BUCKET, { Ref: bucketId });
  assert.equal(env.SNAPSHOT_INTERVAL_SECONDS, "1800");
  // Hourly for 7 days, daily for 90: the defaults of snapshotRetention.
  assert.equal(env.SNAPSHOT_RETENTION, "3600:604800,86400:7776000");
  assert.equal(env.DISASTER_RECOVERY, "automatic");
  assert.equal(env.QUORUM_LOSS_THRESHOLD_SECONDS, "300");
  assert.equal(fn.Properties.Timeout, 900);
  assert.equal(fn.Properties.MemorySize, 512);
  assert.equal(fn.Properties.ReservedConcurrentExecutions, 2);
  assert.ok(fn.Properties.DeadLetterConfig, "a failed scheduled run goes to the dead-letter queue");
  // No other function is given the bucket but the node API, which presigns a restoring node's GET.
  const readers = [idOf("AWS::Lambda::Function", "ControlPlaneSnapshot"), nodeApiId()];
  for (const [id, other] of Object.entries(template.findResources("AWS::Lambda::Function"))) {
    if (readers.includes(id)) continue;
    const vars = (other.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables;
    assert.equal(vars?.SNAPSHOT_BUCKET, undefined, id);
  }
});

test("its role reaches this cluster's objects and the ledger, and nothing of the group's lifecycle", () => {
  const role = resourceOf("AWS::IAM::Role", "ControlPlaneSnapshotRole");
  const policies = role.Properties.Policies as { PolicyDocument: { Statement: Record<string, unknown>[] } }[];
  const statements = policies.flatMap((p) => p.PolicyDocument.Statement);
  const bucketArn = { "Fn::GetAtt": [idOf("AWS::S3::Bucket", "ControlPlaneSnapshots"), "Arn"] };
  const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
  assert.deepEqual(Object.keys(bySid).sort(), [
    "ListSnapshots",
    "ReadLedgerRecordSnapshots",
    "WriteOwnLogs",
    "WriteReadPruneSnapshots",
  ]);
  assert.deepEqual(bySid.ListSnapshots?.Action, "s3:ListBucket");
  assert.deepEqual(bySid.ListSnapshots?.Resource, bucketArn);
  assert.deepEqual(bySid.WriteReadPruneSnapshots?.Resource, {
    "Fn::Join": ["", [bucketArn, "/EtcdAsg-Cluster/*"]],
  });
  assert.deepEqual(bySid.ReadLedgerRecordSnapshots?.Action, [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
  ]);
  const actions = statements.flatMap((s) => [s.Action].flat().map(String));
  assert.ok(!actions.some((a) => a.startsWith("autoscaling:")), actions.join(", "));
  // The node role has no S3 rights: a restoring node gets a presigned URL from the node API.
  const nodeRole = resourceOf("AWS::IAM::Role", "ClusterNodeRole");
  assert.ok(!JSON.stringify(nodeRole).includes("s3:"), "the node role names no S3 action");
});

test("a schedule runs it every 30 minutes, and the stack outputs its name and the bucket's", () => {
  const fnId = idOf("AWS::Lambda::Function", "ControlPlaneSnapshot");
  template.hasResourceProperties("AWS::Events::Rule", {
    ScheduleExpression: "rate(30 minutes)",
    State: "ENABLED",
    Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [fnId, "Arn"] } })],
  });
  template.hasOutput("SnapshotFunctionName", { Value: { Ref: fnId } });
  template.hasOutput("SnapshotBucketName", {
    Value: { Ref: idOf("AWS::S3::Bucket", "ControlPlaneSnapshots") },
  });
});

test("recovery: the reconciler may ask for a snapshot, the node API presigns a restoring node's GET", () => {
  const snapshotId = idOf("AWS::Lambda::Function", "ControlPlaneSnapshot");
  const reconciler = resourceOf("AWS::Lambda::Function", "ControlPlaneReconciler");
  assert.deepEqual(variablesOf(reconciler).SNAPSHOT_FUNCTION_NAME, { Ref: snapshotId });
  const invokes = statementsOf(resourceOf("AWS::IAM::Policy", "ControlPlaneReconcilerRoleDefaultPolicy"));
  assert.ok(
    invokes.some(
      (s) =>
        s.Action === "lambda:InvokeFunction" &&
        JSON.stringify(s.Resource) === JSON.stringify({ "Fn::GetAtt": [snapshotId, "Arn"] }),
    ),
    JSON.stringify(invokes),
  );
  const bucketId = idOf("AWS::S3::Bucket", "ControlPlaneSnapshots");
  const nodeApi = template.findResources("AWS::Lambda::Function")[nodeApiId()] as Resource;
  assert.deepEqual(variablesOf(nodeApi).SNAPSHOT_BUCKET, { Ref: bucketId });
  const presign = statementsOf(resourceOf("AWS::IAM::Role", "ControlPlaneNodeApiRole")).find(
    (s) => s.Sid === "PresignSnapshotDownloads",
  );
  assert.equal(presign?.Action, "s3:GetObject");
  assert.deepEqual(presign?.Resource, {
    "Fn::Join": ["", [{ "Fn::GetAtt": [bucketId, "Arn"] }, "/EtcdAsg-Cluster/*"]],
  });
});

test("an alarm fires when the newest snapshot is older than two intervals, or no run reported for two", () => {
  const topic = { Ref: idOf("AWS::SNS::Topic", "AlarmTopic") };
  template.hasResourceProperties("AWS::CloudWatch::Alarm", {
    Namespace: "EtcdAsg",
    MetricName: "SnapshotAge",
    Dimensions: [{ Name: "ClusterName", Value: "EtcdAsg-Cluster" }],
    Statistic: "Maximum",
    Period: 1800,
    Threshold: 3600,
    ComparisonOperator: "GreaterThanThreshold",
    EvaluationPeriods: 2,
    DatapointsToAlarm: 1,
    TreatMissingData: "missing",
    AlarmActions: [topic],
    OKActions: [topic],
    InsufficientDataActions: [topic],
  });
});
