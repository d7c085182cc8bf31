// IAM decisions on the stack's own policies, synthesized from the real EtcdAsgStack: each function's
// role may do what its handler needs on the resources the simulator serves and nothing else, and a
// refusal reads as AWS words it. Also the evaluation rules the simulator relies on: explicit denies,
// KMS key policies that must allow or delegate to the account, TLS-only bucket policies, the
// operator's administrator policy.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { authorize } from "../../local/iam/authorize";
import { administrator, type NamedPolicy, type PolicyDocument, PolicySet } from "../../local/iam/policies";
import { type Fixture, makeFixture, synthesize } from "../cdk/synth-fixture";

const ACCOUNT = "123456789012";
const REGION = "us-east-1";
const GROUP_ARN = `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:6f1c2a4e-1b2c-4d5e-8f90-123456789abc:autoScalingGroupName/EtcdAsg-Cluster`;

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/**
 * The few intrinsics the stack's policies use, resolved with logical IDs as physical names (the
 * simulator's own resolver, local/stack/, does this for real).
 */
function resolver(resources: Resources) {
  const arnOf = (id: string): string => {
    const type = resources[id]?.Type;
    const arns: Record<string, string> = {
      "AWS::DynamoDB::Table": `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${id}`,
      "AWS::Lambda::Function": `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`,
      "AWS::Logs::LogGroup": `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${id}:*`,
      "AWS::SQS::Queue": `arn:aws:sqs:${REGION}:${ACCOUNT}:${id}`,
      "AWS::IAM::Role": `arn:aws:iam::${ACCOUNT}:role/${id}`,
      "AWS::KMS::Key": `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`,
      "AWS::S3::Bucket": `arn:aws:s3:::${id.toLowerCase()}`,
    };
    return arns[type ?? ""] ?? `arn:aws:unknown:${REGION}:${ACCOUNT}:${id}`;
  };
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (typeof value !== "object" || value === null) return value;
    const node = value as Record<string, unknown>;
    if ("Fn::GetAtt" in node) return arnOf(String((node["Fn::GetAtt"] as unknown[])[0]));
    if ("Ref" in node) {
      const id = String(node.Ref);
      return resources[id]?.Type === "AWS::IAM::ManagedPolicy" ? `arn:aws:iam::${ACCOUNT}:policy/${id}` : id;
    }
    if ("Fn::Join" in node) {
      const [separator, parts] = node["Fn::Join"] as [string, unknown[]];
      return parts.map(resolve).join(separator);
    }
    return Object.fromEntries(Object.entries(node).map(([key, inner]) => [key, resolve(inner)]));
  };
  return { arnOf, resolve };
}

/** Every role of the template with its inline, managed and attached policies, resolved. */
function stackPolicies(resources: Resources): PolicySet {
  const { arnOf, resolve } = resolver(resources);
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const managed = new Map(
    ofType("AWS::IAM::ManagedPolicy").map(([id, r]) => [
      `arn:aws:iam::${ACCOUNT}:policy/${id}`,
      { name: id, document: resolve(r.Properties?.PolicyDocument) as PolicyDocument },
    ]),
  );
  const attached = ofType("AWS::IAM::Policy").flatMap(([id, r]) =>
    ((r.Properties?.Roles ?? []) as { Ref: string }[]).map((role) => ({
      role: role.Ref,
      policy: { name: id, document: resolve(r.Properties?.PolicyDocument) as PolicyDocument },
    })),
  );
  return new PolicySet({
    roles: ofType("AWS::IAM::Role").map(([id, r]) => {
      const props = resolve(r.Properties ?? {}) as {
        Policies?: { PolicyName: string; PolicyDocument: PolicyDocument }[];
        ManagedPolicyArns?: string[];
      };
      const policies: NamedPolicy[] = [
        ...(props.Policies ?? []).map((p) => ({ name: p.PolicyName, document: p.PolicyDocument })),
        ...(props.ManagedPolicyArns ?? []).flatMap((arn) => managed.get(arn) ?? []),
        ...attached.filter((a) => a.role === id).map((a) => a.policy),
      ];
      return { roleArn: arnOf(id), policies };
    }),
  });
}

let fixture: Fixture;
let policies: PolicySet;
let resources: Resources;

/** The session ARN of the role whose logical ID starts with `prefix`. */
function session(prefix: string, name: string): string {
  const id = Object.keys(resources).find(
    (key) => key.startsWith(prefix) && resources[key]?.Type === "AWS::IAM::Role",
  );
  assert.ok(id, `a role ${prefix}*`);
  return `arn:aws:sts::${ACCOUNT}:assumed-role/${id}/${name}`;
}

function logicalId(prefix: string, type: string): string {
  const id = Object.keys(resources).find((key) => key.startsWith(prefix) && resources[key]?.Type === type);
  assert.ok(id, `a ${type} ${prefix}*`);
  return id;
}

before(() => {
  fixture = makeFixture();
  resources = synthesize(fixture).template.toJSON().Resources as Resources;
  policies = stackPolicies(resources);
});

after(() => fixture.remove());

describe("the stack's roles, evaluated as IAM does", () => {
  test("the launch hook may complete lifecycle actions of its group, whatever the group's UUID", async () => {
    const decision = await authorize(policies, {
      principalArn: session("ClusterControlPlaneLaunchHookRole", "launch-hook"),
      action: "autoscaling:CompleteLifecycleAction",
      resource: GROUP_ARN,
    });
    assert.deepEqual(decision, { allowed: true });
  });

  test("the launch hook may not mark instances unhealthy, and the refusal says so as AWS does", async () => {
    const principalArn = session("ClusterControlPlaneLaunchHookRole", "launch-hook");
    const decision = await authorize(policies, {
      principalArn,
      action: "autoscaling:SetInstanceHealth",
      resource: GROUP_ARN,
    });
    assert.equal(decision.allowed, false);
    assert.equal(!decision.allowed && decision.code, "ImplicitDeny");
    assert.equal(
      !decision.allowed && decision.message,
      `User: ${principalArn} is not authorized to perform: autoscaling:SetInstanceHealth on resource: ${GROUP_ARN} because no identity-based policy allows the autoscaling:SetInstanceHealth action`,
    );
  });

  test("the reconciler may mark instances of its group unhealthy, not of another group", async () => {
    const principalArn = session("ClusterControlPlaneReconcilerRole", "reconciler");
    const own = await authorize(policies, {
      principalArn,
      action: "autoscaling:SetInstanceHealth",
      resource: GROUP_ARN,
    });
    assert.deepEqual(own, { allowed: true });
    const other = await authorize(policies, {
      principalArn,
      action: "autoscaling:SetInstanceHealth",
      resource: GROUP_ARN.replace("EtcdAsg-Cluster", "someone-elses"),
    });
    assert.equal(other.allowed, false);
  });

  test("the control plane reads the ledger and describes the group and instances; other tables are out of reach", async () => {
    const principalArn = session("ClusterControlPlaneNodeApiRole", "node-api");
    const ledger = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${logicalId("ClusterControlPlaneLedger", "AWS::DynamoDB::Table")}`;
    for (const [action, resource] of [
      ["dynamodb:UpdateItem", ledger],
      ["dynamodb:Query", ledger],
      ["autoscaling:DescribeAutoScalingGroups", "*"],
      ["ec2:DescribeInstances", "*"],
    ] as const) {
      assert.deepEqual(
        await authorize(policies, { principalArn, action, resource }),
        { allowed: true },
        action,
      );
    }
    const other = await authorize(policies, {
      principalArn,
      action: "dynamodb:GetItem",
      resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/other`,
    });
    assert.equal(other.allowed, false);
  });

  test("a node may call the node API through its function URL only, and never Auto Scaling", async () => {
    const principalArn = session("ClusterNodeRole", "i-0123456789abcdef0");
    const nodeApi = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${logicalId("ClusterControlPlaneNodeApi", "AWS::Lambda::Function")}`;
    const viaUrl = await authorize(policies, {
      principalArn,
      action: "lambda:InvokeFunctionUrl",
      resource: nodeApi,
      context: { "lambda:FunctionUrlAuthType": "AWS_IAM" },
    });
    const invokeViaUrl = await authorize(policies, {
      principalArn,
      action: "lambda:InvokeFunction",
      resource: nodeApi,
      context: { "lambda:InvokedViaFunctionUrl": "true" },
    });
    const invokeDirectly = await authorize(policies, {
      principalArn,
      action: "lambda:InvokeFunction",
      resource: nodeApi,
    });
    const complete = await authorize(policies, {
      principalArn,
      action: "autoscaling:CompleteLifecycleAction",
      resource: GROUP_ARN,
    });
    assert.deepEqual(
      [viaUrl.allowed, invokeViaUrl.allowed, invokeDirectly.allowed, complete.allowed],
      [true, true, false, false],
    );
  });
});

describe("evaluation rules the gate relies on", () => {
  const role = `arn:aws:iam::${ACCOUNT}:role/Signer`;
  const caller = `arn:aws:sts::${ACCOUNT}:assumed-role/Signer/issuer`;
  const key = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
  const allowSign: NamedPolicy = {
    name: "Sign",
    document: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "kms:Sign", Resource: key }] },
  };
  const keyPolicy = (principal: string): PolicyDocument => ({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { AWS: principal }, Action: "kms:*", Resource: "*" }],
  });
  const sign = (set: PolicySet) =>
    authorize(set, { principalArn: caller, action: "kms:Sign", resource: key });

  test("KMS: identity policies count when the key policy delegates to the account", async () => {
    const set = new PolicySet({
      roles: [{ roleArn: role, policies: [allowSign] }],
      resourcePolicies: [{ resourceArn: key, document: keyPolicy(`arn:aws:iam::${ACCOUNT}:root`) }],
    });
    assert.deepEqual(await sign(set), { allowed: true });
  });

  test("KMS: a key policy that names the role allows without any identity policy", async () => {
    const set = new PolicySet({
      roles: [{ roleArn: role, policies: [] }],
      resourcePolicies: [{ resourceArn: key, document: keyPolicy(role) }],
    });
    assert.deepEqual(await sign(set), { allowed: true });
  });

  test("KMS: a key policy that neither names the role nor delegates refuses, whatever IAM allows", async () => {
    const set = new PolicySet({
      roles: [{ roleArn: role, policies: [allowSign] }],
      resourcePolicies: [{ resourceArn: key, document: keyPolicy(`arn:aws:iam::${ACCOUNT}:role/Other`) }],
    });
    const decision = await sign(set);
    assert.equal(
      !decision.allowed && decision.message,
      `User: ${caller} is not authorized to perform: kms:Sign on resource: ${key} because no resource-based policy allows the kms:Sign action`,
    );
  });

  test("KMS: a key the policy set does not know has the default key policy", async () => {
    const set = new PolicySet({ roles: [{ roleArn: role, policies: [allowSign] }] });
    assert.deepEqual(await sign(set), { allowed: true });
  });

  test("an explicit deny wins over an allow and is worded as one", async () => {
    const set = new PolicySet({
      roles: [
        {
          roleArn: role,
          policies: [
            {
              name: "AllButSign",
              document: {
                Version: "2012-10-17",
                Statement: [
                  { Effect: "Allow", Action: "kms:*", Resource: "*" },
                  { Effect: "Deny", Action: "kms:Sign", Resource: "*" },
                ],
              },
            },
          ],
        },
      ],
    });
    const decision = await sign(set);
    assert.equal(!decision.allowed && decision.code, "ExplicitDeny");
    assert.equal(
      !decision.allowed && decision.message,
      `User: ${caller} is not authorized to perform: kms:Sign on resource: ${key} with an explicit deny in an identity-based policy`,
    );
  });

  test("a TLS-only bucket policy refuses plain HTTP with an explicit deny in a resource-based policy", async () => {
    const bucket = "arn:aws:s3:::snapshots";
    const set = new PolicySet({
      roles: [
        {
          roleArn: role,
          policies: [
            {
              name: "Snapshots",
              document: {
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }],
              },
            },
          ],
        },
      ],
      resourcePolicies: [
        {
          resourceArn: bucket,
          document: {
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Deny",
                Principal: { AWS: "*" },
                Action: "s3:*",
                Resource: [bucket, `${bucket}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
              },
            ],
          },
        },
      ],
    });
    const get = (secure: string) =>
      authorize(set, {
        principalArn: caller,
        action: "s3:GetObject",
        resource: `${bucket}/gen-1/snap.db`,
        context: { "aws:SecureTransport": secure },
      });
    assert.deepEqual(await get("true"), { allowed: true });
    const plain = await get("false");
    assert.match(!plain.allowed ? plain.message : "", /with an explicit deny in a resource-based policy$/);
  });

  test("a decision is made once per request and the context values its policies name", async () => {
    const until = (date: string): NamedPolicy => ({
      name: "SignUntil",
      document: {
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Action: "kms:Sign",
            Resource: key,
            Condition: { DateLessThan: { "aws:CurrentTime": date } },
          },
        ],
      },
    });
    const at = (set: PolicySet, time: string, secure = "true") =>
      authorize(set, {
        principalArn: caller,
        action: "kms:Sign",
        resource: key,
        context: { "aws:CurrentTime": time, "aws:SecureTransport": secure },
      });
    const timed = new PolicySet({ roles: [{ roleArn: role, policies: [until("2030-01-01T00:00:00Z")] }] });
    assert.deepEqual(await at(timed, "2029-12-31T23:59:59Z"), { allowed: true });
    const late = await at(timed, "2030-01-01T00:00:01Z");
    assert.equal(!late.allowed && late.code, "ImplicitDeny");
    // No policy names aws:SecureTransport here: the decision made for one value is the other's.
    const first = await at(timed, "2029-06-01T00:00:00Z", "true");
    assert.equal(await at(timed, "2029-06-01T00:00:00Z", "false"), first);
    // Nor aws:CurrentTime in a policy without conditions: one decision for every time.
    const plain = new PolicySet({ roles: [{ roleArn: role, policies: [allowSign] }] });
    const once = await at(plain, "2029-06-01T00:00:00Z");
    assert.equal(await at(plain, "2031-06-01T00:00:00Z"), once);
    // Another policy set (a deploy) decides anew.
    const changed = new PolicySet({ roles: [{ roleArn: role, policies: [] }] });
    assert.equal((await at(changed, "2029-06-01T00:00:00Z")).allowed, false);
  });

  test("the operator, an administrator, may do anything", async () => {
    const operator = `arn:aws:iam::${ACCOUNT}:user/etcd-asg-operator`;
    const set = new PolicySet({ roles: [], users: [administrator(operator)] });
    for (const [action, resource] of [
      ["autoscaling:SetDesiredCapacity", GROUP_ARN],
      ["kms:Sign", `arn:aws:kms:${REGION}:${ACCOUNT}:key/x`],
      ["dynamodb:DeleteTable", `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/ledger`],
    ] as const) {
      assert.deepEqual(
        await authorize(set, { principalArn: operator, action, resource }),
        { allowed: true },
        action,
      );
    }
  });

  test("a caller the policy set does not know has no permissions", async () => {
    const decision = await authorize(new PolicySet({ roles: [] }), {
      principalArn: `arn:aws:sts::${ACCOUNT}:assumed-role/Unknown/x`,
      action: "autoscaling:DescribeAutoScalingGroups",
      resource: "*",
    });
    assert.equal(
      !decision.allowed && decision.message,
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/Unknown/x is not authorized to perform: autoscaling:DescribeAutoScalingGroups because no identity-based policy allows the autoscaling:DescribeAutoScalingGroups action`,
    );
  });
});
