// The AWS emulator with the IAM gate, driven by the real SDK v3 clients (and once by the real `aws`
// CLI) signing with credentials the simulator issued: a call the caller's role allows is served, one
// it does not is refused with AWS's code and wording, bad signatures are refused as Auto Scaling and
// EC2 refuse them, and the operator may do everything.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  SetInstanceHealthCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { AwsEmulator } from "../../local/aws/emulator";
import type { LifecycleEvent } from "../../local/aws/types";
import { CredentialStore, type Credentials } from "../../local/iam/credentials";
import { createGate } from "../../local/iam/gate";
import { administrator, PolicySet } from "../../local/iam/policies";

const ACCOUNT = "123456789012";
const REGION = "us-east-1";
const GROUP = "etcd-nodes";
const GROUP_ANY_UUID = `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:*:autoScalingGroupName/${GROUP}`;
const LAUNCH_HOOK_ROLE = `arn:aws:iam::${ACCOUNT}:role/EtcdAsg-LaunchHookRole`;
const RECONCILER_ROLE = `arn:aws:iam::${ACCOUNT}:role/EtcdAsg-ReconcilerRole`;
const NODE_ROLE = `arn:aws:iam::${ACCOUNT}:role/EtcdAsg-NodeRole`;

/** The control plane's policies as the stack grants them (cdk/lib/control-plane.ts), in short. */
const describeGroupAndInstances = {
  Effect: "Allow",
  Action: ["autoscaling:DescribeAutoScalingGroups", "ec2:DescribeInstances"],
  Resource: "*",
};
const completeLifecycleActions = {
  Effect: "Allow",
  Action: ["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"],
  Resource: GROUP_ANY_UUID,
};

let emulator: AwsEmulator;
let store: CredentialStore;
let endpoint: string;
const clients: { destroy(): void }[] = [];
const events: LifecycleEvent[] = [];

before(async () => {
  store = new CredentialStore({ account: ACCOUNT });
  const policies = new PolicySet({
    roles: [
      {
        roleArn: LAUNCH_HOOK_ROLE,
        policies: [
          {
            name: "ControlPlane",
            document: {
              Version: "2012-10-17",
              Statement: [describeGroupAndInstances, completeLifecycleActions],
            },
          },
        ],
      },
      {
        roleArn: RECONCILER_ROLE,
        policies: [
          {
            name: "ControlPlane",
            document: {
              Version: "2012-10-17",
              Statement: [
                describeGroupAndInstances,
                completeLifecycleActions,
                { Effect: "Allow", Action: "autoscaling:SetInstanceHealth", Resource: GROUP_ANY_UUID },
              ],
            },
          },
        ],
      },
      { roleArn: NODE_ROLE, policies: [] },
    ],
    users: [administrator(store.operator.principal.arn)],
  });
  emulator = new AwsEmulator({
    privateIps: { first: "127.0.47.1", last: "127.0.47.200" },
    gate: createGate({ callers: store, policies }),
  });
  emulator.onLifecycleEvent((event) => {
    events.push(event);
  });
  endpoint = await emulator.start();
  emulator.createAutoScalingGroup({
    name: GROUP,
    minSize: 0,
    maxSize: 5,
    desiredCapacity: 2,
    availabilityZones: ["us-east-1a", "us-east-1b"],
    lifecycleHooks: [
      { name: "launch", transition: "autoscaling:EC2_INSTANCE_LAUNCHING", heartbeatTimeoutMs: 60_000 },
    ],
  });
});

after(async () => {
  for (const client of clients) client.destroy();
  await emulator.stop();
});

function autoScalingAs(credentials: Credentials): AutoScalingClient {
  const client = new AutoScalingClient({ endpoint, region: REGION, credentials, maxAttempts: 1 });
  clients.push(client);
  return client;
}

function ec2As(credentials: Credentials): EC2Client {
  const client = new EC2Client({ endpoint, region: REGION, credentials, maxAttempts: 1 });
  clients.push(client);
  return client;
}

async function launchEvent(): Promise<LifecycleEvent> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const event = events.shift();
    if (event !== undefined) return event;
    if (Date.now() > deadline) throw new Error("no launch lifecycle event");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("AWS emulator behind the IAM gate", () => {
  test("serves a call the role's policy allows: the launch hook completes its lifecycle action", async () => {
    const launchHook = autoScalingAs(store.assumeRole(LAUNCH_HOOK_ROLE, "launch-hook"));
    const event = await launchEvent();
    await launchHook.send(
      new CompleteLifecycleActionCommand({
        AutoScalingGroupName: GROUP,
        LifecycleHookName: "launch",
        LifecycleActionToken: event.detail.LifecycleActionToken,
        LifecycleActionResult: "CONTINUE",
      }),
    );
    const described = await launchHook.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [GROUP] }),
    );
    const instance = described.AutoScalingGroups?.[0]?.Instances?.find(
      (i) => i.InstanceId === event.detail.EC2InstanceId,
    );
    assert.equal(instance?.LifecycleState, "InService");
  });

  test("refuses a group action the role lacks with AccessDenied naming the action, the role and the group ARN", async () => {
    const launchHook = autoScalingAs(store.assumeRole(LAUNCH_HOOK_ROLE, "launch-hook"));
    const [instance] = emulator.group(GROUP).instances();
    const error = await launchHook
      .send(new SetInstanceHealthCommand({ InstanceId: instance?.id, HealthStatus: "Unhealthy" }))
      .then(
        () => assert.fail("SetInstanceHealth was served"),
        (e: unknown) => e as Error & { $metadata: { httpStatusCode?: number } },
      );
    assert.equal(error.name, "AccessDenied");
    assert.equal(error.$metadata.httpStatusCode, 403);
    assert.equal(
      error.message,
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/EtcdAsg-LaunchHookRole/launch-hook is not authorized to perform: autoscaling:SetInstanceHealth on resource: ${emulator.group(GROUP).arn} because no identity-based policy allows the autoscaling:SetInstanceHealth action`,
    );
    assert.equal(
      emulator
        .group(GROUP)
        .instances()
        .find((i) => i.id === instance?.id)?.healthStatus,
      "Healthy",
    );
  });

  test("serves the same action to the role whose policy allows it on the group", async () => {
    const reconciler = autoScalingAs(store.assumeRole(RECONCILER_ROLE, "reconciler"));
    const instance = emulator
      .group(GROUP)
      .instances()
      .find((i) => i.lifecycleState === "InService");
    assert.ok(instance, "an InService instance");
    await reconciler.send(
      new SetInstanceHealthCommand({
        InstanceId: instance.id,
        HealthStatus: "Unhealthy",
        ShouldRespectGracePeriod: false,
      }),
    );
    assert.ok(
      !emulator
        .group(GROUP)
        .instances()
        .some((i) => i.id === instance.id),
      "the unhealthy instance was replaced",
    );
  });

  test("refuses EC2 DescribeInstances to the node role with UnauthorizedOperation", async () => {
    const node = ec2As(store.assumeRole(NODE_ROLE, "i-0123456789abcdef0"));
    const error = await node.send(new DescribeInstancesCommand({})).then(
      () => assert.fail("DescribeInstances was served"),
      (e: unknown) => e as Error & { $metadata: { httpStatusCode?: number } },
    );
    assert.equal(error.name, "UnauthorizedOperation");
    assert.equal(error.$metadata.httpStatusCode, 403);
    assert.equal(
      error.message,
      `You are not authorized to perform this operation. User: arn:aws:sts::${ACCOUNT}:assumed-role/EtcdAsg-NodeRole/i-0123456789abcdef0 is not authorized to perform: ec2:DescribeInstances because no identity-based policy allows the ec2:DescribeInstances action`,
    );
  });

  test("refuses a wrong secret as each service does: SignatureDoesNotMatch, AuthFailure", async () => {
    const issued = store.assumeRole(RECONCILER_ROLE, "reconciler");
    const forged = { ...issued, secretAccessKey: `${issued.secretAccessKey}x` };
    const autoScalingError = await autoScalingAs(forged)
      .send(new DescribeAutoScalingGroupsCommand({}))
      .then(
        () => assert.fail("served"),
        (e: unknown) => e as Error,
      );
    assert.equal(autoScalingError.name, "SignatureDoesNotMatch");
    const ec2Error = await ec2As(forged)
      .send(new DescribeInstancesCommand({}))
      .then(
        () => assert.fail("served"),
        (e: unknown) => e as Error,
      );
    assert.equal(ec2Error.name, "AuthFailure");
  });

  test("refuses an access key nobody issued with InvalidClientTokenId, and an unsigned call", async () => {
    const error = await autoScalingAs({
      accessKeyId: "AKIAIOSFODNN7EXAMPLE",
      secretAccessKey: "wJalrXUtnFEMI",
    })
      .send(new DescribeAutoScalingGroupsCommand({}))
      .then(
        () => assert.fail("served"),
        (e: unknown) => e as Error,
      );
    assert.equal(error.name, "InvalidClientTokenId");
    assert.equal(error.message, "The security token included in the request is invalid.");
    const unsigned = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "Action=DescribeAutoScalingGroups&Version=2011-01-01",
    });
    assert.equal(unsigned.status, 403);
    assert.match(await unsigned.text(), /<Code>MissingAuthenticationToken<\/Code>/);
  });

  test("refuses expired session credentials with ExpiredToken", async () => {
    const shortLived = new CredentialStore({ account: ACCOUNT, sessionDurationMs: -1 });
    const expired = shortLived.assumeRole(RECONCILER_ROLE, "reconciler");
    const gated = new AwsEmulator({
      gate: createGate({ callers: shortLived, policies: new PolicySet({ roles: [] }) }),
    });
    const client = new AutoScalingClient({
      endpoint: await gated.start(),
      region: REGION,
      credentials: expired,
      maxAttempts: 1,
    });
    try {
      const error = await client.send(new DescribeAutoScalingGroupsCommand({})).then(
        () => assert.fail("served"),
        (e: unknown) => e as Error,
      );
      assert.equal(error.name, "ExpiredToken");
    } finally {
      client.destroy();
      await gated.stop();
    }
  });

  test("lets the operator do everything", async () => {
    const operator = autoScalingAs(store.operator.credentials);
    const [instance] = emulator.group(GROUP).instances();
    assert.ok(instance, "an instance");
    const answer = await operator.send(
      new TerminateInstanceInAutoScalingGroupCommand({
        InstanceId: instance.id,
        ShouldDecrementDesiredCapacity: false,
      }),
    );
    assert.equal(answer.Activity?.StatusCode !== undefined, true);
    await ec2As(store.operator.credentials).send(new DescribeInstancesCommand({}));
  });

  test("the aws CLI hears the refusal as AccessDenied too", async () => {
    const credentials = store.assumeRole(LAUNCH_HOOK_ROLE, "launch-hook");
    const [instance] = emulator.group(GROUP).instances();
    const run = promisify(execFile)(
      "aws",
      [
        "autoscaling",
        "set-instance-health",
        "--instance-id",
        instance?.id ?? "i-0",
        "--health-status",
        "Unhealthy",
        "--endpoint-url",
        endpoint,
        "--region",
        REGION,
      ],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          AWS_ACCESS_KEY_ID: credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
          AWS_SESSION_TOKEN: credentials.sessionToken,
          AWS_MAX_ATTEMPTS: "1",
          AWS_CONFIG_FILE: "/dev/null",
          AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
        },
      },
    );
    const error = await run.then(
      () => assert.fail("set-instance-health was served"),
      (e: unknown) => e as { stderr: string },
    );
    assert.match(
      error.stderr,
      /An error occurred \(AccessDenied\) when calling the SetInstanceHealth operation: User: arn:aws:sts::123456789012:assumed-role\/EtcdAsg-LaunchHookRole\/launch-hook is not authorized to perform: autoscaling:SetInstanceHealth/,
    );
  });
});
