// Which permissions each service front says a request needs: the IAM action, the resource ARN and
// the condition keys AWS evaluates for it, per protocol (DynamoDB and KMS JSON, Auto Scaling and EC2
// Query, S3 and Route 53 REST, a Lambda function URL).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { autoScalingFront } from "../../local/iam/auto-scaling";
import type { AssumedRolePrincipal } from "../../local/iam/credentials";
import { dynamoDbFront } from "../../local/iam/dynamodb";
import { ec2Front } from "../../local/iam/ec2";
import type { AuthorizationCheck, GateRequest, ServiceFront } from "../../local/iam/front";
import { kmsFront } from "../../local/iam/kms";
import { functionUrlFront } from "../../local/iam/lambda-url";
import { route53Front, UnknownRoute53RequestError } from "../../local/iam/route53";
import { s3Front } from "../../local/iam/s3";

const REGION = "us-east-1";
const ACCOUNT = "123456789012";
const CALLER: AssumedRolePrincipal = {
  kind: "assumed-role",
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Role/session`,
  account: ACCOUNT,
  roleArn: `arn:aws:iam::${ACCOUNT}:role/Role`,
  roleName: "Role",
  sessionName: "session",
  userId: "AROAEXAMPLE:session",
  issuedAt: new Date(0),
};

function request(
  method: string,
  url: string,
  body?: string,
  headers: Record<string, string> = {},
): GateRequest {
  return { method, url, headers, body: body === undefined ? undefined : Buffer.from(body) };
}

async function checks(front: ServiceFront, req: GateRequest): Promise<[string, string][]> {
  return (await front.resolve(req, CALLER)).map((check) => [check.action, check.resource]);
}

async function only(front: ServiceFront, req: GateRequest): Promise<AuthorizationCheck> {
  const [check, ...rest] = await front.resolve(req, CALLER);
  assert.ok(check && rest.length === 0, "exactly one check");
  return check;
}

const table = (name: string) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}`;

describe("DynamoDB front", () => {
  const front = dynamoDbFront({ region: REGION, account: ACCOUNT });
  const call = (operation: string, input: unknown) =>
    request("POST", "/", JSON.stringify(input), { "x-amz-target": `DynamoDB_20120810.${operation}` });

  test("an item operation needs its action on its table, an index query on the index", async () => {
    assert.deepEqual(await checks(front, call("GetItem", { TableName: "ledger", Key: {} })), [
      ["dynamodb:GetItem", table("ledger")],
    ]);
    assert.deepEqual(await checks(front, call("Query", { TableName: "ledger", IndexName: "by-ip" })), [
      ["dynamodb:Query", `${table("ledger")}/index/by-ip`],
    ]);
    assert.deepEqual(await checks(front, call("ListTables", {})), [["dynamodb:ListTables", "*"]]);
  });

  test("a batch needs its action on every table; a transaction each item's action on its table", async () => {
    assert.deepEqual(await checks(front, call("BatchWriteItem", { RequestItems: { a: [], b: [] } })), [
      ["dynamodb:BatchWriteItem", table("a")],
      ["dynamodb:BatchWriteItem", table("b")],
    ]);
    const transaction = {
      TransactItems: [
        { Put: { TableName: "a", Item: {} } },
        { Update: { TableName: "b", Key: {} } },
        { ConditionCheck: { TableName: "a", Key: {} } },
        { Delete: { TableName: "c", Key: {} } },
      ],
    };
    assert.deepEqual(await checks(front, call("TransactWriteItems", transaction)), [
      ["dynamodb:PutItem", table("a")],
      ["dynamodb:UpdateItem", table("b")],
      ["dynamodb:ConditionCheckItem", table("a")],
      ["dynamodb:DeleteItem", table("c")],
    ]);
    assert.deepEqual(
      await checks(front, call("TransactGetItems", { TransactItems: [{ Get: { TableName: "a" } }] })),
      [["dynamodb:GetItem", table("a")]],
    );
  });

  test("a request naming no table is checked against any table; one that is not DynamoDB's, not at all", async () => {
    assert.deepEqual(await checks(front, call("GetItem", {})), [["dynamodb:GetItem", "*"]]);
    assert.deepEqual(
      await checks(front, request("POST", "/", "{not json", { "x-amz-target": "DynamoDB_20120810.PutItem" })),
      [["dynamodb:PutItem", "*"]],
    );
    assert.deepEqual(await checks(front, request("POST", "/", "{}", { "x-amz-target": "Other.Thing" })), []);
  });
});

describe("Auto Scaling front", () => {
  const arn = `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:0d1c2b3a-0000-4000-8000-000000000000:autoScalingGroupName/nodes`;
  const front = autoScalingFront({
    region: REGION,
    account: ACCOUNT,
    groupArn: (name) => (name === "nodes" ? arn : undefined),
    groupOfInstance: (id) => (id === "i-1" ? "nodes" : undefined),
  });
  const call = (params: string) => request("POST", "/", `Version=2011-01-01&${params}`);

  test("a group action needs the group's ARN with its UUID, found by name or through the instance", async () => {
    assert.deepEqual(await checks(front, call("Action=CompleteLifecycleAction&AutoScalingGroupName=nodes")), [
      ["autoscaling:CompleteLifecycleAction", arn],
    ]);
    assert.deepEqual(
      await checks(front, call("Action=SetInstanceHealth&InstanceId=i-1&HealthStatus=Unhealthy")),
      [["autoscaling:SetInstanceHealth", arn]],
    );
    assert.deepEqual(await checks(front, call("Action=StartInstanceRefresh&AutoScalingGroupName=nodes")), [
      ["autoscaling:StartInstanceRefresh", arn],
    ]);
  });

  test("a group or instance nobody knows is checked against any UUID; Describe actions against *", async () => {
    assert.deepEqual(await checks(front, call("Action=SetDesiredCapacity&AutoScalingGroupName=gone")), [
      [
        "autoscaling:SetDesiredCapacity",
        `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:*:autoScalingGroupName/gone`,
      ],
    ]);
    assert.deepEqual(await checks(front, call("Action=DescribeAutoScalingGroups")), [
      ["autoscaling:DescribeAutoScalingGroups", "*"],
    ]);
  });
});

describe("EC2 front", () => {
  const front = ec2Front({ region: REGION, account: ACCOUNT });
  test("DescribeInstances needs * with ec2:Region; an instance action each instance's ARN", async () => {
    const describe = await only(front, request("POST", "/", "Action=DescribeInstances&Version=2016-11-15"));
    assert.deepEqual(describe, {
      action: "ec2:DescribeInstances",
      resource: "*",
      context: { "ec2:Region": REGION },
    });
    assert.deepEqual(
      await checks(
        front,
        request("POST", "/", "Action=TerminateInstances&InstanceId.1=i-1&InstanceId.2=i-2"),
      ),
      [
        ["ec2:TerminateInstances", `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-1`],
        ["ec2:TerminateInstances", `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-2`],
      ],
    );
  });
});

describe("KMS front", () => {
  const key = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
  const front = kmsFront({
    region: REGION,
    account: ACCOUNT,
    keyArn: (keyId) => (keyId === "alias/peer-ca" || keyId.endsWith("1234567890ab") ? key : undefined),
  });
  const call = (operation: string, input: unknown) =>
    request("POST", "/", JSON.stringify(input), { "x-amz-target": `TrentService.${operation}` });

  test("Sign needs kms:Sign on the key's ARN however the key is named, with the request's keys", async () => {
    const input = { Message: "", MessageType: "DIGEST", SigningAlgorithm: "ECDSA_SHA_256" };
    const byId = await only(front, call("Sign", { ...input, KeyId: "1234abcd-12ab-34cd-56ef-1234567890ab" }));
    assert.deepEqual(byId, {
      action: "kms:Sign",
      resource: key,
      context: {
        "kms:CallerAccount": ACCOUNT,
        "kms:SigningAlgorithm": "ECDSA_SHA_256",
        "kms:MessageType": "DIGEST",
      },
    });
    const byAlias = await only(front, call("Sign", { ...input, KeyId: "alias/peer-ca" }));
    assert.equal(byAlias.resource, key);
    assert.equal(byAlias.context?.["kms:RequestAlias"], "alias/peer-ca");
    assert.equal((await only(front, call("GetPublicKey", { KeyId: key }))).resource, key);
  });

  test("a key's policy as the KMS server holds it goes with the check", async () => {
    const keyPolicy = { Version: "2012-10-17", Statement: [] };
    const withPolicies = kmsFront({
      region: REGION,
      account: ACCOUNT,
      keyPolicy: (arn) => (arn === key ? keyPolicy : undefined),
    });
    assert.equal((await only(withPolicies, call("DescribeKey", { KeyId: key }))).resourcePolicy, keyPolicy);
  });

  test("CreateKey needs *; CreateAlias the alias and its key", async () => {
    assert.deepEqual(await checks(front, call("CreateKey", { KeySpec: "ECC_NIST_P256" })), [
      ["kms:CreateKey", "*"],
    ]);
    assert.deepEqual(
      await checks(front, call("CreateAlias", { AliasName: "alias/client-ca", TargetKeyId: key })),
      [
        ["kms:CreateAlias", `arn:aws:kms:${REGION}:${ACCOUNT}:alias/client-ca`],
        ["kms:CreateAlias", key],
      ],
    );
  });
});

describe("S3 front", () => {
  const front = s3Front({ region: REGION, account: ACCOUNT });
  const object = "arn:aws:s3:::snapshots/gen 1/snap.db";

  test("object reads, writes, uploads in parts and copies need their object actions", async () => {
    assert.deepEqual(await checks(front, request("GET", "/snapshots/gen%201/snap.db?x-id=GetObject")), [
      ["s3:GetObject", object],
    ]);
    assert.deepEqual(await checks(front, request("HEAD", "/snapshots/gen%201/snap.db")), [
      ["s3:GetObject", object],
    ]);
    assert.deepEqual(await checks(front, request("GET", "/snapshots/gen%201/snap.db?versionId=3")), [
      ["s3:GetObjectVersion", object],
    ]);
    for (const url of ["?uploads", "?partNumber=1&uploadId=u", "?uploadId=u"]) {
      const method = url === "?partNumber=1&uploadId=u" ? "PUT" : "POST";
      assert.deepEqual(await checks(front, request(method, `/snapshots/gen%201/snap.db${url}`)), [
        ["s3:PutObject", object],
      ]);
    }
    assert.deepEqual(await checks(front, request("DELETE", "/snapshots/gen%201/snap.db?uploadId=u")), [
      ["s3:AbortMultipartUpload", object],
    ]);
    assert.deepEqual(
      await checks(
        front,
        request("PUT", "/snapshots/copy.db", undefined, {
          "x-amz-copy-source": "/snapshots/gen%201/snap.db",
        }),
      ),
      [
        ["s3:PutObject", "arn:aws:s3:::snapshots/copy.db"],
        ["s3:GetObject", object],
      ],
    );
  });

  test("bucket listings and settings need their bucket actions; a bulk delete each key", async () => {
    assert.deepEqual(await checks(front, request("GET", "/snapshots?list-type=2&prefix=gen")), [
      ["s3:ListBucket", "arn:aws:s3:::snapshots"],
    ]);
    assert.deepEqual(await checks(front, request("HEAD", "/snapshots")), [
      ["s3:ListBucket", "arn:aws:s3:::snapshots"],
    ]);
    assert.deepEqual(await checks(front, request("PUT", "/snapshots?versioning")), [
      ["s3:PutBucketVersioning", "arn:aws:s3:::snapshots"],
    ]);
    assert.deepEqual(await checks(front, request("GET", "/")), [["s3:ListAllMyBuckets", "*"]]);
    const deletion = "<Delete><Object><Key>a</Key></Object><Object><Key>b&amp;c</Key></Object></Delete>";
    assert.deepEqual(await checks(front, request("POST", "/snapshots?delete", deletion)), [
      ["s3:DeleteObject", "arn:aws:s3:::snapshots/a"],
      ["s3:DeleteObject", "arn:aws:s3:::snapshots/b&c"],
    ]);
    const listing = await only(front, request("GET", "/snapshots?list-type=2&prefix=gen"));
    assert.equal(listing.context?.["s3:prefix"], "gen");
  });
});

describe("Route 53 front", () => {
  const front = route53Front();
  test("record changes need their hosted zone, with the batch's actions, names and types", async () => {
    const batch =
      "<ChangeResourceRecordSetsRequest><ChangeBatch><Changes>" +
      "<Change><Action>UPSERT</Action><ResourceRecordSet><Name>Etcd.Example.internal.</Name><Type>A</Type></ResourceRecordSet></Change>" +
      "<Change><Action>DELETE</Action><ResourceRecordSet><Name>_etcd-server._tcp.etcd.example.internal.</Name><Type>SRV</Type></ResourceRecordSet></Change>" +
      "</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>";
    assert.deepEqual(await only(front, request("POST", "/2013-04-01/hostedzone/Z123/rrset/", batch)), {
      action: "route53:ChangeResourceRecordSets",
      resource: "arn:aws:route53:::hostedzone/Z123",
      context: {
        "route53:ChangeResourceRecordSetsActions": ["UPSERT", "DELETE"],
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": [
          "etcd.example.internal",
          "_etcd-server._tcp.etcd.example.internal",
        ],
        "route53:ChangeResourceRecordSetsRecordTypes": ["A", "SRV"],
      },
    });
    assert.deepEqual(await checks(front, request("GET", "/2013-04-01/hostedzone/Z123/rrset?maxitems=10")), [
      ["route53:ListResourceRecordSets", "arn:aws:route53:::hostedzone/Z123"],
    ]);
    assert.deepEqual(await checks(front, request("GET", "/2013-04-01/change/C42")), [
      ["route53:GetChange", "arn:aws:route53:::change/C42"],
    ]);
    assert.throws(
      () => front.resolve(request("PUT", "/2013-04-01/nothing"), CALLER),
      UnknownRoute53RequestError,
    );
  });
});

describe("function URL front", () => {
  test("any request needs InvokeFunctionUrl as AWS_IAM and InvokeFunction via the URL", async () => {
    const fn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:node-api`;
    const front = functionUrlFront({ region: REGION, functionArn: fn });
    assert.deepEqual(await front.resolve(request("GET", "/v1/nodes/i-1/config"), CALLER), [
      {
        action: "lambda:InvokeFunctionUrl",
        resource: fn,
        context: { "lambda:FunctionUrlAuthType": "AWS_IAM", "lambda:FunctionArn": fn },
      },
      { action: "lambda:InvokeFunction", resource: fn, context: { "lambda:InvokedViaFunctionUrl": "true" } },
    ]);
  });
});
