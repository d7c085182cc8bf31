// The Lambdas' EC2 and Auto Scaling adapters over the real SDK clients, against the local AWS
// emulator: private IP lookup, group instances, lifecycle completion and heartbeats, and how
// throttling, server errors and network failures come out.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { EC2Client } from "@aws-sdk/client-ec2";
import {
  AutoScalingGroupAdapter,
  AutoScalingGroupNotFoundError,
  AwsThrottledError,
  AwsUnavailableError,
  describeInstanceDetails,
  describePrivateIp,
  InstanceNotFoundError,
  PrivateIpNotAssignedError,
} from "../../lambdas/adapters/aws";
import { isRetryable } from "../../lambdas/errors";
import { realClock } from "../../local/aws/clock";
import { AwsEmulator } from "../../local/aws/emulator";
import type { AutoScalingGroupConfig } from "../../local/aws/types";

const IP_DELAY_MS = 60_000;
const credentials = { accessKeyId: "test", secretAccessKey: "test" };

let emulator: AwsEmulator;
let endpoint: string;
let clients: { autoScaling: AutoScalingClient; ec2: EC2Client };
let groupCount = 0;

/** The emulator's clock runs ahead by `skewMs`, so a test "waits" for EC2 to assign IPs instantly. */
let skewMs = 0;
const clock = { ...realClock, now: () => Date.now() + skewMs };
const passIpDelay = () => {
  skewMs += IP_DELAY_MS;
};

before(async () => {
  emulator = new AwsEmulator({
    privateIps: { first: "127.0.42.1", last: "127.0.42.200" },
    privateIpDelayMs: IP_DELAY_MS,
    clock,
  });
  endpoint = await emulator.start();
  const config = { endpoint, region: "us-east-1", credentials, maxAttempts: 1 };
  clients = { autoScaling: new AutoScalingClient(config), ec2: new EC2Client(config) };
});

after(async () => {
  clients.autoScaling.destroy();
  clients.ec2.destroy();
  await emulator.stop();
});

function newGroup(overrides: Partial<AutoScalingGroupConfig> = {}) {
  groupCount += 1;
  const group = emulator.createAutoScalingGroup({
    name: `adapter-group-${groupCount}`,
    minSize: 0,
    maxSize: 5,
    desiredCapacity: 1,
    availabilityZones: ["us-east-1a"],
    lifecycleHooks: [
      { name: "launch", transition: "autoscaling:EC2_INSTANCE_LAUNCHING", heartbeatTimeoutMs: 60_000 },
    ],
    ...overrides,
  });
  return { group, adapter: new AutoScalingGroupAdapter(clients, group.name) };
}

function firstInstance(group: ReturnType<typeof newGroup>["group"]) {
  const [instance] = group.instances();
  assert.ok(instance);
  return instance;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("EC2 adapter", () => {
  test("reports no private IP yet as a retryable PrivateIpNotAssignedError, then the IP", async () => {
    const { group } = newGroup();
    const instance = firstInstance(group);
    await assert.rejects(describePrivateIp(clients.ec2, instance.id), (error: unknown) => {
      assert.ok(error instanceof PrivateIpNotAssignedError);
      assert.equal(error.instanceId, instance.id);
      assert.equal(isRetryable(error), true);
      return true;
    });
    passIpDelay();
    assert.equal(await describePrivateIp(clients.ec2, instance.id), instance.privateIp);
  });

  test("an unknown or terminated instance is a non-retryable InstanceNotFoundError", async () => {
    await assert.rejects(describePrivateIp(clients.ec2, "i-0123456789abcdef0"), (error: unknown) => {
      assert.ok(error instanceof InstanceNotFoundError);
      assert.equal(isRetryable(error), false);
      return true;
    });
    const { group } = newGroup({ lifecycleHooks: [] });
    const instance = firstInstance(group);
    group.terminateInstance(instance.id, true);
    await assert.rejects(describePrivateIp(clients.ec2, instance.id), {
      name: "InstanceNotFoundError",
      message: `instance ${instance.id} is terminated`,
    });
  });

  test("describes many instances in one DescribeInstances call", async () => {
    const { group } = newGroup({ desiredCapacity: 4, lifecycleHooks: [] });
    const ids = group.instances().map((instance) => instance.id);
    emulator.resetCallCounts();
    const details = await describeInstanceDetails(clients.ec2, [...ids, "i-0123456789abcdef0"]);
    assert.deepEqual([...details.keys()].sort(), [...ids].sort());
    assert.deepEqual(emulator.callCounts(), { DescribeInstances: 1 });
  });
});

describe("Auto Scaling group adapter", () => {
  test("lists the group's instances with lifecycle state, health, private IP and launch time", async () => {
    const { group, adapter } = newGroup({ desiredCapacity: 2 });
    const expected = group.instances().map((instance) => ({
      id: instance.id,
      lifecycleState: "Pending:Wait",
      healthStatus: "Healthy",
      privateIp: undefined,
      launchTime: instance.launchTime,
      // This group is created without a launch template, so no instance names a version.
      launchTemplate: undefined,
    }));
    assert.deepEqual(await adapter.instances(), expected, "no IPs yet");
    passIpDelay();
    assert.deepEqual(
      await adapter.instances(),
      expected.map((instance, index) => ({ ...instance, privateIp: group.instances()[index]?.privateIp })),
    );
  });

  test("shows an instance set Unhealthy as Unhealthy while the group replaces it", async () => {
    // A terminate hook holds the instance in the group while it is replaced.
    const { group, adapter } = newGroup({
      desiredCapacity: 2,
      lifecycleHooks: [
        { name: "terminate", transition: "autoscaling:EC2_INSTANCE_TERMINATING", heartbeatTimeoutMs: 60_000 },
      ],
    });
    passIpDelay();
    const [victim, other] = group.instances();
    await adapter.markUnhealthy(victim?.id ?? "");
    const instances = await adapter.instances();
    assert.equal(instances.find((i) => i.id === victim?.id)?.healthStatus, "Unhealthy");
    assert.equal(instances.find((i) => i.id === other?.id)?.healthStatus, "Healthy");
  });

  test("cold, reads EC2 by the group's tag, and asks by ID only about an instance that answer lacks", async () => {
    const { group, adapter } = newGroup({ desiredCapacity: 2 });
    const other = newGroup({ desiredCapacity: 1, lifecycleHooks: [] });
    passIpDelay();
    const requests: unknown[] = [];
    const { ec2 } = clients;
    ec2.middlewareStack.add(
      (next) => async (args) => {
        requests.push((args.input as { Filters?: unknown }).Filters);
        return next(args);
      },
      { step: "initialize", name: "recordFilters" },
    );
    try {
      emulator.resetCallCounts();
      const instances = await adapter.instances();
      assert.deepEqual(
        instances.map((i) => i.privateIp),
        group.instances().map((i) => i.privateIp),
      );
      assert.ok(!instances.some((i) => i.id === firstInstance(other.group).id), "another group's instance");
      assert.deepEqual(emulator.callCounts(), { DescribeAutoScalingGroups: 1, DescribeInstances: 1 });
      assert.deepEqual(requests, [
        [
          { Name: "tag:aws:autoscaling:groupName", Values: [adapter.groupName] },
          { Name: "instance-state-name", Values: ["pending", "running"] },
        ],
      ]);
    } finally {
      ec2.middlewareStack.remove("recordFilters");
    }
  });

  test("asks EC2 only about instances it has not yet seen with a private IP", async () => {
    const { group, adapter } = newGroup({ desiredCapacity: 2 });
    passIpDelay();
    emulator.resetCallCounts();
    const first = await adapter.instances();
    assert.deepEqual(emulator.callCounts(), { DescribeAutoScalingGroups: 1, DescribeInstances: 1 });

    emulator.resetCallCounts();
    assert.deepEqual(await adapter.instances(), first, "the same instances, from memory");
    assert.deepEqual(emulator.callCounts(), { DescribeAutoScalingGroups: 1 });

    group.setDesiredCapacity(3);
    emulator.resetCallCounts();
    const third = (await adapter.instances()).find((i) => !first.some((f) => f.id === i.id));
    assert.equal(third?.privateIp, undefined, "the new instance has no IP yet");
    assert.deepEqual(emulator.callCounts(), { DescribeAutoScalingGroups: 1, DescribeInstances: 1 });

    passIpDelay();
    emulator.resetCallCounts();
    const later = await adapter.instances();
    assert.equal(later.find((i) => i.id === third?.id)?.privateIp, group.instances()[2]?.privateIp);
    assert.deepEqual(emulator.callCounts(), { DescribeAutoScalingGroups: 1, DescribeInstances: 1 });
  });

  test("an unknown group is an AutoScalingGroupNotFoundError", async () => {
    const adapter = new AutoScalingGroupAdapter(clients, "no-such-group");
    await assert.rejects(
      adapter.instances(),
      (error: unknown) => error instanceof AutoScalingGroupNotFoundError,
    );
  });

  test("completes a lifecycle action by token, and reports a repeat as already done", async () => {
    const { group, adapter } = newGroup();
    const instance = firstInstance(group);
    const token = group.activeLifecycleActions()[0]?.token;
    const target = { hookName: "launch", instanceId: instance.id, token };
    assert.equal(await adapter.complete(target, "CONTINUE"), "completed");
    assert.equal(group.instances()[0]?.lifecycleState, "InService");
    assert.equal(await adapter.complete(target, "CONTINUE"), "already-done");
  });

  test("completes by instance ID when the token is unknown", async () => {
    const { group, adapter } = newGroup();
    const instance = firstInstance(group);
    assert.equal(
      await adapter.complete({ hookName: "launch", instanceId: instance.id }, "ABANDON"),
      "completed",
    );
    assert.equal(group.instances().find((i) => i.id === instance.id)?.lifecycleState, undefined);
  });

  test("records a heartbeat, and says when the action is no longer active", async () => {
    const { group, adapter } = newGroup();
    const instance = firstInstance(group);
    const before = group.activeLifecycleActions()[0]?.timeoutAt ?? 0;
    await sleep(5);
    assert.equal(await adapter.heartbeat({ hookName: "launch", instanceId: instance.id }), "recorded");
    assert.ok((group.activeLifecycleActions()[0]?.timeoutAt ?? 0) > before);
    await adapter.complete({ hookName: "launch", instanceId: instance.id }, "CONTINUE");
    assert.equal(await adapter.heartbeat({ hookName: "launch", instanceId: instance.id }), "not-active");
  });

  test("throttling is a retryable AwsThrottledError and a 5xx a retryable AwsUnavailableError", async () => {
    const { adapter, group } = newGroup();
    const instance = firstInstance(group);
    emulator.injectFaults((call) =>
      call.action === "CompleteLifecycleAction" ? "throttling" : "server-error",
    );
    try {
      await assert.rejects(
        adapter.complete({ hookName: "launch", instanceId: instance.id }, "CONTINUE"),
        (error) => {
          assert.ok(error instanceof AwsThrottledError);
          assert.equal(error.retryable, true);
          assert.match(error.message, /^CompleteLifecycleAction failed: Throttling: Rate exceeded/);
          return true;
        },
      );
      await assert.rejects(adapter.instances(), (error) => {
        assert.ok(error instanceof AwsUnavailableError);
        assert.equal(error.retryable, true);
        return true;
      });
      await assert.rejects(
        describePrivateIp(clients.ec2, instance.id),
        (error) => error instanceof AwsUnavailableError,
      );
    } finally {
      emulator.injectFaults(undefined);
    }
  });

  test("a connection refused is a retryable AwsUnavailableError", async () => {
    const stopped = new AwsEmulator();
    const deadEndpoint = await stopped.start();
    await stopped.stop();
    const config = { endpoint: deadEndpoint, region: "us-east-1", credentials, maxAttempts: 1 };
    const autoScaling = new AutoScalingClient(config);
    try {
      const adapter = new AutoScalingGroupAdapter({ autoScaling, ec2: clients.ec2 }, "any");
      await assert.rejects(
        adapter.heartbeat({ hookName: "launch", instanceId: "i-0123456789abcdef0" }),
        (error) => {
          assert.ok(error instanceof AwsUnavailableError, String(error));
          assert.equal(error.retryable, true);
          return true;
        },
      );
    } finally {
      autoScaling.destroy();
    }
  });

  test("the SDK clients find the emulator through AWS_ENDPOINT_URL_AUTO_SCALING and AWS_ENDPOINT_URL_EC2", async () => {
    const saved = { asg: process.env.AWS_ENDPOINT_URL_AUTO_SCALING, ec2: process.env.AWS_ENDPOINT_URL_EC2 };
    process.env.AWS_ENDPOINT_URL_AUTO_SCALING = endpoint;
    process.env.AWS_ENDPOINT_URL_EC2 = endpoint;
    const config = { region: "us-east-1", credentials, maxAttempts: 1 };
    const fromEnv = { autoScaling: new AutoScalingClient(config), ec2: new EC2Client(config) };
    try {
      const { group } = newGroup({ lifecycleHooks: [] });
      emulator.resetCallCounts();
      const instances = await new AutoScalingGroupAdapter(fromEnv, group.name).instances();
      assert.deepEqual(
        instances.map((instance) => instance.id),
        group.instances().map((instance) => instance.id),
      );
      assert.deepEqual(emulator.callCounts(), { DescribeAutoScalingGroups: 1, DescribeInstances: 1 });
    } finally {
      fromEnv.autoScaling.destroy();
      fromEnv.ec2.destroy();
      for (const [name, value] of [
        ["AWS_ENDPOINT_URL_AUTO_SCALING", saved.asg],
        ["AWS_ENDPOINT_URL_EC2", saved.ec2],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});
