// The local AWS emulator driven by the real AWS SDK v3 clients: every supported call, and the
// Auto Scaling state machine (lifecycle hooks, timeouts, ABANDON, IP reuse, scaling, replacement,
// SetInstanceHealth, instance refresh, the EC2 health check).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  AutoScalingClient,
  CancelInstanceRefreshCommand,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeInstanceRefreshesCommand,
  DescribeLifecycleHooksCommand,
  type InstanceRefresh,
  RecordLifecycleActionHeartbeatCommand,
  SetDesiredCapacityCommand,
  SetInstanceHealthCommand,
  StartInstanceRefreshCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { AwsEmulator } from "../../local/aws/emulator";
import type { AutoScalingGroupConfig, LifecycleEvent, LifecycleHookConfig } from "../../local/aws/types";

const LAUNCH_HOOK: LifecycleHookConfig = {
  name: "launch",
  transition: "autoscaling:EC2_INSTANCE_LAUNCHING",
  heartbeatTimeoutMs: 60_000,
  defaultResult: "ABANDON",
  notificationMetadata: "etcd-asg",
};
const TERMINATE_HOOK: LifecycleHookConfig = {
  name: "terminate",
  transition: "autoscaling:EC2_INSTANCE_TERMINATING",
  heartbeatTimeoutMs: 60_000,
  defaultResult: "CONTINUE",
};

let emulator: AwsEmulator;
let autoScaling: AutoScalingClient;
let ec2: EC2Client;
let events: LifecycleEvent[];
let groupCount = 0;

before(async () => {
  emulator = new AwsEmulator({
    privateIps: { first: "127.0.41.1", last: "127.0.41.200" },
    healthCheckDelayMs: 100,
  });
  emulator.onLifecycleEvent((event) => {
    events.push(event);
  });
  const endpoint = await emulator.start();
  const config = {
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  };
  autoScaling = new AutoScalingClient({ ...config, maxAttempts: 1 });
  ec2 = new EC2Client({ ...config, maxAttempts: 1 });
});

after(async () => {
  autoScaling.destroy();
  ec2.destroy();
  await emulator.stop();
});

/** A fresh group per test, so tests do not see each other's instances. */
function newGroup(overrides: Partial<AutoScalingGroupConfig> = {}) {
  events = [];
  groupCount += 1;
  return emulator.createAutoScalingGroup({
    name: `group-${groupCount}`,
    minSize: 0,
    maxSize: 5,
    desiredCapacity: 1,
    availabilityZones: ["us-east-1a", "us-east-1b", "us-east-1c"],
    lifecycleHooks: [LAUNCH_HOOK, TERMINATE_HOOK],
    ...overrides,
  });
}

async function until<T>(what: string, read: () => T | undefined | Promise<T | undefined>, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function eventFor(instanceId: string, transition: "LAUNCHING" | "TERMINATING") {
  return until(`${transition} event of ${instanceId}`, () =>
    events.find(
      (event) =>
        event.detail.EC2InstanceId === instanceId &&
        event.detail.LifecycleTransition === `autoscaling:EC2_INSTANCE_${transition}`,
    ),
  );
}

async function describeGroup(name: string) {
  const answer = await autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }),
  );
  const group = answer.AutoScalingGroups?.[0];
  assert.ok(group, `group ${name} described`);
  return group;
}

function stateOf(group: ReturnType<typeof newGroup>, instanceId: string) {
  return group.instances().find((instance) => instance.id === instanceId)?.lifecycleState ?? "gone";
}

describe("AWS emulator through the SDK", () => {
  test("describes the group with its instances held in Pending:Wait by the launch hook", async () => {
    const group = newGroup({ desiredCapacity: 2 });
    const described = await describeGroup(group.name);
    assert.equal(described.DesiredCapacity, 2);
    assert.equal(described.MinSize, 0);
    assert.equal(described.MaxSize, 5);
    assert.match(
      described.AutoScalingGroupARN ?? "",
      /^arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:/,
    );
    assert.deepEqual(
      described.Instances?.map((instance) => [instance.LifecycleState, instance.HealthStatus]),
      [
        ["Pending:Wait", "Healthy"],
        ["Pending:Wait", "Healthy"],
      ],
    );
    for (const instance of described.Instances ?? [])
      assert.match(instance.InstanceId ?? "", /^i-[0-9a-f]{17}$/);
    assert.deepEqual(
      described.Instances?.map((instance) => instance.AvailabilityZone),
      ["us-east-1a", "us-east-1b"],
    );
  });

  test("emits a launch lifecycle event in EventBridge's exact shape", async () => {
    const group = newGroup();
    const [instance] = group.instances();
    assert.ok(instance);
    const event = await eventFor(instance.id, "LAUNCHING");
    const [action] = group.activeLifecycleActions();
    assert.deepEqual(Object.keys(event).sort(), [
      "account",
      "detail",
      "detail-type",
      "id",
      "region",
      "resources",
      "source",
      "time",
      "version",
    ]);
    assert.equal(event.version, "0");
    assert.equal(event["detail-type"], "EC2 Instance-launch Lifecycle Action");
    assert.equal(event.source, "aws.autoscaling");
    assert.equal(event.account, "123456789012");
    assert.equal(event.region, "us-east-1");
    assert.match(event.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(event.resources, [group.arn]);
    assert.deepEqual(event.detail, {
      LifecycleActionToken: action?.token,
      AutoScalingGroupName: group.name,
      LifecycleHookName: "launch",
      EC2InstanceId: instance.id,
      LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
      NotificationMetadata: "etcd-asg",
      Origin: "EC2",
      Destination: "AutoScalingGroup",
    });
  });

  test("CONTINUE by token puts the instance InService; a second completion is refused like AWS", async () => {
    const group = newGroup();
    const [instance] = group.instances();
    assert.ok(instance);
    const event = await eventFor(instance.id, "LAUNCHING");
    const complete = new CompleteLifecycleActionCommand({
      AutoScalingGroupName: group.name,
      LifecycleHookName: "launch",
      LifecycleActionToken: event.detail.LifecycleActionToken,
      LifecycleActionResult: "CONTINUE",
    });
    await autoScaling.send(complete);
    assert.equal(stateOf(group, instance.id), "InService");
    await assert.rejects(autoScaling.send(complete), {
      name: "ValidationError",
      message: `No active Lifecycle Action found with token ${event.detail.LifecycleActionToken}`,
      $fault: "client",
    });
  });

  test("completes by instance ID and names the instance when no action is active", async () => {
    const group = newGroup();
    const [instance] = group.instances();
    assert.ok(instance);
    const complete = new CompleteLifecycleActionCommand({
      AutoScalingGroupName: group.name,
      LifecycleHookName: "launch",
      InstanceId: instance.id,
      LifecycleActionResult: "CONTINUE",
    });
    await autoScaling.send(complete);
    assert.equal(stateOf(group, instance.id), "InService");
    await assert.rejects(autoScaling.send(complete), {
      name: "ValidationError",
      message: `No active Lifecycle Action found with instance ID ${instance.id}`,
    });
  });

  test("applies DefaultResult CONTINUE when the heartbeat timeout passes", async () => {
    const group = newGroup({
      lifecycleHooks: [{ ...LAUNCH_HOOK, heartbeatTimeoutMs: 50, defaultResult: "CONTINUE" }],
    });
    const [instance] = group.instances();
    assert.ok(instance);
    await until("InService", () => stateOf(group, instance.id) === "InService");
    assert.equal(group.activeLifecycleActions().length, 0);
  });

  test("ABANDON on launch terminates the instance through the terminate hook and launches a replacement", async () => {
    const group = newGroup({ lifecycleHooks: [{ ...LAUNCH_HOOK, heartbeatTimeoutMs: 50 }, TERMINATE_HOOK] });
    const [first] = group.instances();
    assert.ok(first);
    const terminating = await eventFor(first.id, "TERMINATING");
    assert.equal(stateOf(group, first.id), "Terminating:Wait");
    assert.deepEqual(
      { origin: terminating.detail.Origin, destination: terminating.detail.Destination },
      { origin: "AutoScalingGroup", destination: "EC2" },
    );
    assert.equal(terminating["detail-type"], "EC2 Instance-terminate Lifecycle Action");
    const replacement = group.instances().find((instance) => instance.id !== first.id);
    assert.ok(replacement, "a replacement launches while the abandoned instance terminates");
    assert.equal(replacement.lifecycleState, "Pending:Wait");
    await autoScaling.send(
      new CompleteLifecycleActionCommand({
        AutoScalingGroupName: group.name,
        LifecycleHookName: "terminate",
        LifecycleActionToken: terminating.detail.LifecycleActionToken,
        LifecycleActionResult: "CONTINUE",
      }),
    );
    assert.equal(stateOf(group, first.id), "gone");
    // Its replacements would be abandoned and replaced every 50 ms, taking addresses other tests use.
    group.stop();
  });

  test("records how each lifecycle action ended: CONTINUE or ABANDON, through the API or by timeout", async () => {
    const group = newGroup({
      desiredCapacity: 2,
      lifecycleHooks: [LAUNCH_HOOK, { ...TERMINATE_HOOK, heartbeatTimeoutMs: 50 }],
    });
    const [kept, abandoned] = group.instances();
    assert.ok(kept && abandoned);
    const keptToken = (await eventFor(kept.id, "LAUNCHING")).detail.LifecycleActionToken;
    await autoScaling.send(
      new CompleteLifecycleActionCommand({
        AutoScalingGroupName: group.name,
        LifecycleHookName: "launch",
        LifecycleActionToken: keptToken,
        LifecycleActionResult: "CONTINUE",
      }),
    );
    await autoScaling.send(
      new CompleteLifecycleActionCommand({
        AutoScalingGroupName: group.name,
        LifecycleHookName: "launch",
        InstanceId: abandoned.id,
        LifecycleActionResult: "ABANDON",
      }),
    );
    await until("abandoned instance terminated", () => stateOf(group, abandoned.id) === "gone");
    const finished = group.finishedLifecycleActions();
    assert.deepEqual(
      finished.map(({ at: _, ...action }) => action),
      [
        {
          instanceId: kept.id,
          hookName: "launch",
          transition: "autoscaling:EC2_INSTANCE_LAUNCHING",
          result: "CONTINUE",
          by: "api",
        },
        {
          instanceId: abandoned.id,
          hookName: "launch",
          transition: "autoscaling:EC2_INSTANCE_LAUNCHING",
          result: "ABANDON",
          by: "api",
        },
        {
          instanceId: abandoned.id,
          hookName: "terminate",
          transition: "autoscaling:EC2_INSTANCE_TERMINATING",
          result: "CONTINUE",
          by: "timeout",
        },
      ],
    );
    assert.ok(
      finished.every((action, i) => i === 0 || action.at >= (finished[i - 1]?.at ?? 0)),
      "in the order they ended",
    );
    assert.deepEqual(group.timedOutActions(), [finished[2]]);
  });

  test("a heartbeat restarts the timeout", async () => {
    const group = newGroup({
      lifecycleHooks: [{ ...LAUNCH_HOOK, heartbeatTimeoutMs: 500, defaultResult: "CONTINUE" }],
    });
    const [instance] = group.instances();
    assert.ok(instance);
    const token = (await eventFor(instance.id, "LAUNCHING")).detail.LifecycleActionToken;
    const heartbeat = new RecordLifecycleActionHeartbeatCommand({
      AutoScalingGroupName: group.name,
      LifecycleHookName: "launch",
      LifecycleActionToken: token,
    });
    const started = Date.now();
    for (let beat = 0; beat < 6; beat++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      await autoScaling.send(heartbeat);
    }
    assert.equal(stateOf(group, instance.id), "Pending:Wait", "still waiting after more than the timeout");
    const lastBeat = Date.now();
    await until("InService", () => stateOf(group, instance.id) === "InService");
    assert.ok(lastBeat - started >= 600);
    assert.ok(
      Date.now() - lastBeat >= 450,
      "DefaultResult applied a timeout after the last heartbeat, not before",
    );
    await assert.rejects(autoScaling.send(heartbeat), {
      name: "ValidationError",
      message: `No active Lifecycle Action found with token ${token}`,
    });
  });

  test("SetDesiredCapacity scales in the oldest instance through Terminating:Wait and reuses its IP", async () => {
    const group = newGroup({ desiredCapacity: 2, lifecycleHooks: [TERMINATE_HOOK] });
    const [oldest, newer] = group.instances();
    assert.ok(oldest && newer);
    assert.deepEqual(
      [oldest.lifecycleState, newer.lifecycleState],
      ["InService", "InService"],
      "no launch hook: straight to InService",
    );
    await autoScaling.send(
      new SetDesiredCapacityCommand({ AutoScalingGroupName: group.name, DesiredCapacity: 1 }),
    );
    assert.equal(stateOf(group, oldest.id), "Terminating:Wait");
    const event = await eventFor(oldest.id, "TERMINATING");
    await autoScaling.send(
      new CompleteLifecycleActionCommand({
        AutoScalingGroupName: group.name,
        LifecycleHookName: "terminate",
        LifecycleActionToken: event.detail.LifecycleActionToken,
        LifecycleActionResult: "ABANDON",
      }),
    );
    assert.equal(stateOf(group, oldest.id), "gone", "ABANDON on terminate still terminates");
    await autoScaling.send(
      new SetDesiredCapacityCommand({ AutoScalingGroupName: group.name, DesiredCapacity: 2 }),
    );
    const added = group.instances().find((instance) => instance.id !== newer.id);
    assert.ok(added);
    assert.equal(added.privateIp, oldest.privateIp, "lowest free address is handed out again");
    assert.notEqual(added.id, oldest.id);
  });

  test("SetDesiredCapacity outside min and max is a ValidationError", async () => {
    const group = newGroup({ minSize: 1, maxSize: 3 });
    await assert.rejects(
      autoScaling.send(
        new SetDesiredCapacityCommand({ AutoScalingGroupName: group.name, DesiredCapacity: 4 }),
      ),
      {
        name: "ValidationError",
        message: "New SetDesiredCapacity value 4 is above max value 3 for the AutoScalingGroup.",
      },
    );
    await assert.rejects(
      autoScaling.send(
        new SetDesiredCapacityCommand({ AutoScalingGroupName: group.name, DesiredCapacity: 0 }),
      ),
      {
        name: "ValidationError",
        message: "New SetDesiredCapacity value 0 is below min value 1 for the AutoScalingGroup.",
      },
    );
  });

  test("TerminateInstanceInAutoScalingGroup replaces the instance unless told to decrement", async () => {
    const group = newGroup({ desiredCapacity: 2, lifecycleHooks: [] });
    const [first, second] = group.instances();
    assert.ok(first && second);
    const answer = await autoScaling.send(
      new TerminateInstanceInAutoScalingGroupCommand({
        InstanceId: first.id,
        ShouldDecrementDesiredCapacity: false,
      }),
    );
    assert.equal(answer.Activity?.StatusCode, "InProgress");
    assert.equal(answer.Activity?.Description, `Terminating EC2 instance: ${first.id}`);
    assert.equal(group.instances().length, 2, "a replacement took its place");
    assert.equal(group.desiredCapacity, 2);
    await autoScaling.send(
      new TerminateInstanceInAutoScalingGroupCommand({
        InstanceId: second.id,
        ShouldDecrementDesiredCapacity: true,
      }),
    );
    assert.equal(group.desiredCapacity, 1);
    assert.equal(group.instances().length, 1);
    await assert.rejects(
      autoScaling.send(
        new TerminateInstanceInAutoScalingGroupCommand({
          InstanceId: second.id,
          ShouldDecrementDesiredCapacity: true,
        }),
      ),
      {
        name: "ValidationError",
        message: `Instance Id not found - No managed instance found for instance ID: ${second.id}`,
      },
    );
  });

  test("health replacement terminates the unhealthy instance and launches its replacement at once", async () => {
    const group = newGroup({ lifecycleHooks: [LAUNCH_HOOK, TERMINATE_HOOK] });
    const [sick] = group.instances();
    assert.ok(sick);
    group.markUnhealthy(sick.id);
    const states = group.instances().map((instance) => [instance.id === sick.id, instance.lifecycleState]);
    assert.deepEqual(states, [
      [true, "Terminating:Wait"],
      [false, "Pending:Wait"],
    ]);
    assert.equal(group.instances()[0]?.healthStatus, "Unhealthy");
  });

  test("SetInstanceHealth Unhealthy replaces the instance, respecting the grace period unless told not to", async () => {
    const group = newGroup({ lifecycleHooks: [] });
    const [sick] = group.instances();
    assert.ok(sick);
    const unhealthy = (respect?: boolean) =>
      autoScaling.send(
        new SetInstanceHealthCommand({
          InstanceId: sick.id,
          HealthStatus: "Unhealthy",
          ...(respect === undefined ? {} : { ShouldRespectGracePeriod: respect }),
        }),
      );
    await unhealthy();
    assert.equal(stateOf(group, sick.id), "InService", "just launched: inside the grace period");
    await unhealthy(false);
    assert.equal(stateOf(group, sick.id), "gone");
    assert.equal(group.instances().length, 1, "a replacement took its place");
    await assert.rejects(
      autoScaling.send(new SetInstanceHealthCommand({ InstanceId: "i-nobody", HealthStatus: "Unhealthy" })),
      { name: "ValidationError", message: /No managed instance found for instance ID: i-nobody/ },
    );
    const [other] = group.instances();
    assert.ok(other);
    await assert.rejects(
      autoScaling.send(new SetInstanceHealthCommand({ InstanceId: other.id, HealthStatus: "Sick" })),
      { name: "ValidationError", message: "Invalid HealthStatus Sick: must be Healthy or Unhealthy" },
    );
    assert.equal(stateOf(group, other.id), "InService", "a refused call changes nothing");
  });

  test("launch-before-terminate replacement terminates the old instance once the new one is InService", async () => {
    const group = newGroup({ lifecycleHooks: [LAUNCH_HOOK] });
    const [old] = group.instances();
    assert.ok(old);
    group.completeLifecycleAction({ hookName: "launch", instanceId: old.id, result: "CONTINUE" });
    group.replaceInstance(old.id);
    const fresh = group.instances().find((instance) => instance.id !== old.id);
    assert.ok(fresh);
    assert.equal(stateOf(group, old.id), "InService", "old one serves until the new one is ready");
    group.completeLifecycleAction({ hookName: "launch", instanceId: fresh.id, result: "CONTINUE" });
    assert.equal(stateOf(group, old.id), "gone");
    assert.deepEqual(
      group.instances().map((instance) => instance.id),
      [fresh.id],
    );
  });

  test("describes lifecycle hooks and Auto Scaling instances", async () => {
    const group = newGroup();
    const hooks = await autoScaling.send(
      new DescribeLifecycleHooksCommand({ AutoScalingGroupName: group.name }),
    );
    assert.deepEqual(hooks.LifecycleHooks?.[0], {
      LifecycleHookName: "launch",
      AutoScalingGroupName: group.name,
      LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
      NotificationMetadata: "etcd-asg",
      HeartbeatTimeout: 60,
      GlobalTimeout: 6000,
      DefaultResult: "ABANDON",
    });
    const [instance] = group.instances();
    assert.ok(instance);
    const described = await autoScaling.send(
      new DescribeAutoScalingInstancesCommand({ InstanceIds: [instance.id] }),
    );
    assert.deepEqual(described.AutoScalingInstances, [
      {
        InstanceId: instance.id,
        InstanceType: "t3.small",
        AutoScalingGroupName: group.name,
        AvailabilityZone: "us-east-1a",
        LifecycleState: "Pending:Wait",
        HealthStatus: "HEALTHY",
        ProtectedFromScaleIn: false,
      },
    ]);
    await assert.rejects(
      autoScaling.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: "nope" })),
      {
        name: "ValidationError",
      },
    );
  });

  test("EC2 DescribeInstances shows private IP, state, launch time and AZ; terminated instances lose their IP", async () => {
    const group = newGroup({ lifecycleHooks: [] });
    const [instance] = group.instances();
    assert.ok(instance);
    const describe = async () =>
      (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instance.id] }))).Reservations?.[0]
        ?.Instances?.[0];
    const running = await describe();
    assert.equal(running?.PrivateIpAddress, instance.privateIp);
    assert.deepEqual(running?.State, { Code: 16, Name: "running" });
    assert.equal(running?.LaunchTime?.getTime(), instance.launchTime);
    assert.equal(running?.Placement?.AvailabilityZone, "us-east-1a");
    const byFilter = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [{ Name: "instance-id", Values: [instance.id, "i-0123456789abcdef0"] }],
      }),
    );
    assert.deepEqual(
      byFilter.Reservations?.flatMap((reservation) => reservation.Instances?.map((i) => i.InstanceId)),
      [instance.id],
    );
    group.terminateInstance(instance.id, true);
    const terminated = await describe();
    assert.deepEqual(terminated?.State, { Code: 48, Name: "terminated" });
    assert.equal(terminated?.PrivateIpAddress, undefined);
    await assert.rejects(ec2.send(new DescribeInstancesCommand({ InstanceIds: ["i-0123456789abcdef0"] })), {
      name: "InvalidInstanceID.NotFound",
      message: "The instance ID 'i-0123456789abcdef0' does not exist",
    });
  });

  test("counts calls per action and answers injected throttling and server errors in each service's shape", async () => {
    const group = newGroup({ lifecycleHooks: [] });
    emulator.resetCallCounts();
    emulator.injectFaults((call) =>
      call.action === "DescribeInstances"
        ? "throttling"
        : call.action === "DescribeAutoScalingGroups"
          ? "server-error"
          : undefined,
    );
    try {
      await assert.rejects(
        ec2.send(new DescribeInstancesCommand({})),
        (error: Error & { $metadata: object }) => {
          assert.equal(error.name, "RequestLimitExceeded");
          assert.deepEqual(error.$metadata, { ...error.$metadata, httpStatusCode: 503 });
          return true;
        },
      );
      await assert.rejects(describeGroup(group.name), { name: "InternalFailure", $fault: "server" });
      await autoScaling.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: group.name }));
      emulator.injectFaults((call) => (call.service === "autoscaling" ? "throttling" : "server-error"));
      await assert.rejects(describeGroup(group.name), { name: "Throttling", message: "Rate exceeded" });
      await assert.rejects(ec2.send(new DescribeInstancesCommand({})), { name: "InternalError" });
    } finally {
      emulator.injectFaults(undefined);
    }
    assert.deepEqual(emulator.callCounts(), {
      DescribeInstances: 2,
      DescribeAutoScalingGroups: 2,
      DescribeLifecycleHooks: 1,
    });
  });

  test("notifies instance launch and termination so a simulator can start and stop nodes", async () => {
    const launched: string[] = [];
    const terminated: string[] = [];
    const stopLaunch = emulator.onInstanceLaunch((instance) => {
      launched.push(instance.id);
    });
    const stopTerminate = emulator.onInstanceTerminate((instance) => {
      terminated.push(`${instance.id}:${instance.lifecycleState}`);
    });
    try {
      const group = newGroup({ lifecycleHooks: [] });
      const [instance] = group.instances();
      assert.ok(instance);
      await until("launch notice", () => launched.includes(instance.id));
      group.terminateInstance(instance.id, true);
      await until("terminate notice", () => terminated.includes(`${instance.id}:Terminated`));
    } finally {
      stopLaunch();
      stopTerminate();
    }
  });
});

/** Completes every lifecycle action of the group with CONTINUE through the SDK, as a control plane
 * would, a few milliseconds after its event. Returns the unsubscribe function. */
function continueEveryAction(group: ReturnType<typeof newGroup>): () => void {
  return emulator.onLifecycleEvent(async (event) => {
    if (event.detail.AutoScalingGroupName !== group.name) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
    await autoScaling.send(
      new CompleteLifecycleActionCommand({
        AutoScalingGroupName: group.name,
        LifecycleHookName: event.detail.LifecycleHookName,
        LifecycleActionToken: event.detail.LifecycleActionToken,
        LifecycleActionResult: "CONTINUE",
      }),
    );
  });
}

async function describeRefresh(group: ReturnType<typeof newGroup>, id: string): Promise<InstanceRefresh> {
  const answer = await autoScaling.send(
    new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: group.name, InstanceRefreshIds: [id] }),
  );
  const [refresh] = answer.InstanceRefreshes ?? [];
  assert.ok(refresh, `instance refresh ${id} described`);
  return refresh;
}

/** Samples the group every 2 ms until stopped, keeping what each sample saw. */
function sampleGroup<T>(
  group: ReturnType<typeof newGroup>,
  read: (instances: ReturnType<typeof group.instances>) => T,
) {
  const samples: Array<{ at: number; value: T }> = [];
  const timer = setInterval(() => samples.push({ at: Date.now(), value: read(group.instances()) }), 2);
  return { samples, stop: () => clearInterval(timer) };
}

describe("instance refresh and the EC2 health check through the SDK", () => {
  test("StartInstanceRefresh replaces every instance in batches of desired minus MinHealthyPercentage, through the hooks", async () => {
    const group = newGroup({ desiredCapacity: 4, maxSize: 8 });
    const unsubscribe = continueEveryAction(group);
    try {
      await until("all InService", () => group.instances().every((i) => i.lifecycleState === "InService"));
      const originals = group.instances().map((i) => i.id);
      const sampler = sampleGroup(
        group,
        (instances) =>
          instances.filter((i) => originals.includes(i.id) && i.lifecycleState !== "InService").length,
      );
      const { InstanceRefreshId: id } = await autoScaling.send(
        new StartInstanceRefreshCommand({
          AutoScalingGroupName: group.name,
          Preferences: { MinHealthyPercentage: 50, InstanceWarmup: 0 },
        }),
      );
      assert.ok(id);
      assert.match((await describeRefresh(group, id)).Status ?? "", /^(Pending|InProgress)$/);
      await until(
        "refresh Successful",
        async () => (await describeRefresh(group, id)).Status === "Successful",
      );
      sampler.stop();
      const refresh = await describeRefresh(group, id);
      assert.deepEqual(
        {
          percentage: refresh.PercentageComplete,
          toUpdate: refresh.InstancesToUpdate,
          preferences: refresh.Preferences,
          strategy: refresh.Strategy,
        },
        {
          percentage: 100,
          toUpdate: 0,
          preferences: {
            MinHealthyPercentage: 50,
            MaxHealthyPercentage: 100,
            InstanceWarmup: 0,
            SkipMatching: false,
          },
          strategy: "Rolling",
        },
      );
      assert.ok(refresh.EndTime && refresh.StartTime && refresh.EndTime >= refresh.StartTime);
      assert.equal(
        Math.max(...sampler.samples.map((s) => s.value)),
        2,
        "two of four replaced at a time (4 - 50%)",
      );
      assert.equal(group.instances().filter((i) => originals.includes(i.id)).length, 0);
      assert.equal(group.instances().length, 4);
      for (const id of originals) await eventFor(id, "TERMINATING");
    } finally {
      unsubscribe();
    }
  });

  test("MaxHealthyPercentage above 100 launches each replacement first and waits out its warmup", async () => {
    const group = newGroup({ desiredCapacity: 2, defaultInstanceWarmupSeconds: 1 });
    const unsubscribe = continueEveryAction(group);
    try {
      await until("all InService", () => group.instances().every((i) => i.lifecycleState === "InService"));
      const originals = group.instances().map((i) => i.id);
      const sampler = sampleGroup(group, (instances) => ({
        inService: instances.filter((i) => i.lifecycleState === "InService").length,
        total: instances.length,
        fresh: instances
          .filter((i) => !originals.includes(i.id))
          .map((i) => [i.id, i.lifecycleState] as const),
      }));
      const { InstanceRefreshId: id } = await autoScaling.send(
        new StartInstanceRefreshCommand({
          AutoScalingGroupName: group.name,
          Preferences: { MinHealthyPercentage: 100, MaxHealthyPercentage: 150 },
        }),
      );
      assert.ok(id);
      await until(
        "refresh Successful",
        async () => (await describeRefresh(group, id)).Status === "Successful",
        5000,
      );
      sampler.stop();
      assert.equal((await describeRefresh(group, id)).Preferences?.InstanceWarmup, 1, "the group's default");
      const values = sampler.samples.map((s) => s.value);
      assert.equal(Math.min(...values.map((v) => v.inService)), 2, "never fewer than desired InService");
      assert.equal(Math.max(...values.map((v) => v.total)), 3, "one extra instance at a time");
      const firstInService = sampler.samples.find((s) =>
        s.value.fresh.some(([, state]) => state === "InService"),
      );
      const secondLaunch = sampler.samples.find((s) => s.value.fresh.length === 2);
      assert.ok(firstInService && secondLaunch);
      assert.ok(
        secondLaunch.at - firstInService.at >= 950,
        `the next batch waited for the warmup (${secondLaunch.at - firstInService.at} ms)`,
      );
    } finally {
      unsubscribe();
    }
  });

  test("CancelInstanceRefresh lets the batch under way finish; refusals answer like AWS", async () => {
    const group = newGroup({ desiredCapacity: 2, lifecycleHooks: [LAUNCH_HOOK] });
    for (const { id } of group.instances()) {
      group.completeLifecycleAction({ hookName: "launch", instanceId: id, result: "CONTINUE" });
    }
    const start = new StartInstanceRefreshCommand({
      AutoScalingGroupName: group.name,
      Preferences: { InstanceWarmup: 0 },
    });
    const { InstanceRefreshId: id } = await autoScaling.send(start);
    assert.ok(id);
    await assert.rejects(autoScaling.send(start), {
      name: "InstanceRefreshInProgressFault",
      message:
        "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.",
    });
    const replacement = await until("the first replacement", () =>
      group.instances().find((i) => i.lifecycleState === "Pending:Wait"),
    );
    const cancel = new CancelInstanceRefreshCommand({ AutoScalingGroupName: group.name });
    assert.equal((await autoScaling.send(cancel)).InstanceRefreshId, id);
    assert.equal((await describeRefresh(group, id)).Status, "Cancelling");
    group.completeLifecycleAction({ hookName: "launch", instanceId: replacement.id, result: "CONTINUE" });
    await until("Cancelled", async () => (await describeRefresh(group, id)).Status === "Cancelled");
    const cancelled = await describeRefresh(group, id);
    assert.deepEqual([cancelled.PercentageComplete, cancelled.InstancesToUpdate], [50, 1]);
    await assert.rejects(autoScaling.send(cancel), {
      name: "ActiveInstanceRefreshNotFoundFault",
      message: `No in progress or pending Instance Refresh found for Auto Scaling group ${group.name}`,
    });
    await assert.rejects(
      autoScaling.send(
        new StartInstanceRefreshCommand({
          AutoScalingGroupName: group.name,
          Preferences: { MinHealthyPercentage: 100, MaxHealthyPercentage: 100 },
        }),
      ),
      { name: "ValidationError" },
    );
  });

  test("an instance refresh fails when the launch of its replacement is abandoned", async () => {
    const group = newGroup({ lifecycleHooks: [LAUNCH_HOOK] });
    const [original] = group.instances();
    assert.ok(original);
    group.completeLifecycleAction({ hookName: "launch", instanceId: original.id, result: "CONTINUE" });
    const { InstanceRefreshId: id } = await autoScaling.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: group.name,
        Preferences: { InstanceWarmup: 0 },
      }),
    );
    assert.ok(id);
    const replacement = await until("the replacement", () =>
      group.instances().find((i) => i.lifecycleState === "Pending:Wait"),
    );
    group.completeLifecycleAction({ hookName: "launch", instanceId: replacement.id, result: "ABANDON" });
    await until("Failed", async () => (await describeRefresh(group, id)).Status === "Failed");
    assert.match((await describeRefresh(group, id)).StatusReason ?? "", new RegExp(replacement.id));
    group.stop();
  });

  test("the EC2 health check replaces an instance whose status checks fail, once it is InService", async () => {
    const group = newGroup({ desiredCapacity: 2 });
    const [running, launching] = group.instances();
    assert.ok(running && launching);
    group.completeLifecycleAction({ hookName: "launch", instanceId: running.id, result: "CONTINUE" });
    emulator.failStatusChecks(running.id);
    emulator.failStatusChecks(launching.id);
    await until("the InService instance marked Unhealthy", () =>
      group.instances().find((i) => i.id === running.id && i.healthStatus === "Unhealthy"),
    );
    assert.equal(stateOf(group, running.id), "Terminating:Wait");
    assert.equal(group.instances().length, 3, "a replacement launches at once");
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(stateOf(group, launching.id), "Pending:Wait", "not checked before it is InService");
    group.completeLifecycleAction({ hookName: "launch", instanceId: launching.id, result: "CONTINUE" });
    await until(
      "the second instance marked Unhealthy",
      () => stateOf(group, launching.id) === "Terminating:Wait",
    );
    group.stop();
  });
});
