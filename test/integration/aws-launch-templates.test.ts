// Launch template versions in the local AWS emulator, through the real AWS SDK v3 clients: what the
// group and each instance were launched from (DescribeAutoScalingGroups, DescribeAutoScalingInstances,
// DescribeInstances' tags), a new version taken by the group, instance refreshes to a desired
// configuration with SkipMatching, checkpoints and rollbacks, and the CloudFormation stack update
// prototype (local/aws/stack-update.ts) that rolls a group when a deploy changes its launch template.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeInstanceRefreshesCommand,
  type InstanceRefresh,
  RollbackInstanceRefreshCommand,
  SetDesiredCapacityCommand,
  StartInstanceRefreshCommand,
  type StartInstanceRefreshCommandInput,
  UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import type { EmulatedAutoScalingGroup } from "../../local/aws/auto-scaling-group";
import { AwsEmulator } from "../../local/aws/emulator";
import { readInstanceRefreshPolicy, updateLaunchTemplate } from "../../local/aws/stack-update";
import type { AutoScalingGroupConfig, EmulatedInstance, LifecycleEvent } from "../../local/aws/types";

const TEMPLATE_ID = "lt-0a1b2c3d4e5f60718";
const V1 = { ImageId: "ami-00000000000000001", InstanceType: "m6g.large", UserData: "IyEvYmluL2Jhc2gK" };
const V2 = { ...V1, ImageId: "ami-00000000000000002" };

let emulator: AwsEmulator;
let autoScaling: AutoScalingClient;
let ec2: EC2Client;
let groupCount = 0;

before(async () => {
  emulator = new AwsEmulator({ privateIps: { first: "127.0.44.1", last: "127.0.44.200" } });
  const endpoint = await emulator.start();
  const config = {
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  };
  autoScaling = new AutoScalingClient({ ...config, maxAttempts: 1 });
  ec2 = new EC2Client({ ...config, maxAttempts: 1 });
  // Versions 1 and 2 of the nodes' template, as two deploys would have made them.
  emulator.launchTemplates.put({ id: TEMPLATE_ID, name: "etcd-nodes", version: "1", data: V1 });
  emulator.launchTemplates.put({ id: TEMPLATE_ID, version: "2", data: V2 });
});

after(async () => {
  autoScaling.destroy();
  ec2.destroy();
  await emulator.stop();
});

/** A fresh group on version 1 with a launch and a terminate hook. */
function newGroup(overrides: Partial<AutoScalingGroupConfig> = {}): EmulatedAutoScalingGroup {
  groupCount += 1;
  return emulator.createAutoScalingGroup({
    name: `lt-group-${groupCount}`,
    minSize: 0,
    maxSize: 8,
    desiredCapacity: 3,
    availabilityZones: ["us-east-1a", "us-east-1b", "us-east-1c"],
    defaultInstanceWarmupSeconds: 0,
    lifecycleHooks: [
      { name: "launch", transition: "autoscaling:EC2_INSTANCE_LAUNCHING", heartbeatTimeoutMs: 60_000 },
      {
        name: "terminate",
        transition: "autoscaling:EC2_INSTANCE_TERMINATING",
        heartbeatTimeoutMs: 60_000,
        defaultResult: "CONTINUE",
      },
    ],
    launchTemplate: { id: TEMPLATE_ID, version: "1" },
    ...overrides,
  });
}

/**
 * Completes the group's lifecycle actions as a control plane would, a few milliseconds after each
 * event: a launch gets `admit(instance)` (CONTINUE unless told; HOLD leaves it waiting), a termination
 * CONTINUE. Each event
 * is also handed to `seen` as it arrives. Returns the unsubscribe function.
 */
function controlPlane(
  group: EmulatedAutoScalingGroup,
  admit: (instance: EmulatedInstance) => "CONTINUE" | "ABANDON" | "HOLD" = () => "CONTINUE",
  seen: (event: LifecycleEvent) => void = () => {},
): () => void {
  return emulator.onLifecycleEvent(async (event) => {
    if (event.detail.AutoScalingGroupName !== group.name) return;
    seen(event);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const instance = group.instances().find((i) => i.id === event.detail.EC2InstanceId);
    if (instance === undefined) return;
    const launching = event.detail.LifecycleTransition === "autoscaling:EC2_INSTANCE_LAUNCHING";
    const result = launching ? admit(instance) : "CONTINUE";
    if (result === "HOLD") return;
    group.completeLifecycleAction({
      hookName: event.detail.LifecycleHookName,
      token: event.detail.LifecycleActionToken,
      result,
    });
  });
}

async function until<T>(what: string, read: () => T | undefined | Promise<T | undefined>, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const allInService = (group: EmulatedAutoScalingGroup) =>
  group.instances().every((i) => i.lifecycleState === "InService");

/** Waits until the group has `count` instances, all InService. */
const settled = (group: EmulatedAutoScalingGroup, count: number) =>
  until(`${count} InService`, () => allInService(group) && group.instances().length === count);

const versionsOf = (group: EmulatedAutoScalingGroup) =>
  group
    .instances()
    .map((i) => i.launchTemplate?.version)
    .sort();

async function startRefresh(
  group: EmulatedAutoScalingGroup,
  input: Partial<StartInstanceRefreshCommandInput>,
) {
  const { InstanceRefreshId: id } = await autoScaling.send(
    new StartInstanceRefreshCommand({ AutoScalingGroupName: group.name, ...input }),
  );
  assert.ok(id);
  return id;
}

async function describeRefresh(group: EmulatedAutoScalingGroup, id: string): Promise<InstanceRefresh> {
  const answer = await autoScaling.send(
    new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: group.name, InstanceRefreshIds: [id] }),
  );
  const [refresh] = answer.InstanceRefreshes ?? [];
  assert.ok(refresh, `instance refresh ${id} described`);
  return refresh;
}

function ended(group: EmulatedAutoScalingGroup, id: string, timeoutMs = 8000) {
  return until(
    `refresh ${id} to end`,
    async () => {
      const refresh = await describeRefresh(group, id);
      return refresh.EndTime === undefined ? undefined : refresh;
    },
    timeoutMs,
  );
}

const DESIRED_V2 = { LaunchTemplate: { LaunchTemplateId: TEMPLATE_ID, Version: "2" } };
const VERSION_2 = { id: TEMPLATE_ID, name: "etcd-nodes", version: "2" };
const ONE_AT_A_TIME = { MinHealthyPercentage: 100, MaxHealthyPercentage: 110, InstanceWarmup: 0 };

describe("launch template versions of the group and its instances", () => {
  test("Describe* show each instance's version, and a new version is used by new launches only", async () => {
    const group = newGroup({ desiredCapacity: 2, lifecycleHooks: [] });
    group.setLaunchTemplate({ id: TEMPLATE_ID, version: "2" });
    await autoScaling.send(
      new SetDesiredCapacityCommand({ AutoScalingGroupName: group.name, DesiredCapacity: 3 }),
    );
    const [first, second, third] = group.instances();
    assert.ok(first && second && third);

    const described = (
      await autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group.name] }))
    ).AutoScalingGroups?.[0];
    const spec = (version: string) => ({
      LaunchTemplateId: TEMPLATE_ID,
      LaunchTemplateName: "etcd-nodes",
      Version: version,
    });
    assert.deepEqual(described?.LaunchTemplate, spec("2"));
    assert.deepEqual(
      described?.Instances?.map((i) => [i.InstanceId, i.LaunchTemplate, i.InstanceType]),
      [
        [first.id, spec("1"), "m6g.large"],
        [second.id, spec("1"), "m6g.large"],
        [third.id, spec("2"), "m6g.large"],
      ],
    );

    const instances = (
      await autoScaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [third.id] }))
    ).AutoScalingInstances;
    assert.deepEqual(instances?.[0]?.LaunchTemplate, spec("2"));

    const reservations = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [first.id, third.id] })))
      .Reservations;
    const ec2Instances = reservations?.flatMap((r) => r.Instances ?? []) ?? [];
    assert.deepEqual(
      ec2Instances.map((i) => [i.InstanceId, i.ImageId, i.Tags]),
      [first, third].map((instance, n) => [
        instance.id,
        n === 0 ? V1.ImageId : V2.ImageId,
        [
          { Key: "aws:ec2launchtemplate:id", Value: TEMPLATE_ID },
          { Key: "aws:ec2launchtemplate:version", Value: n === 0 ? "1" : "2" },
          { Key: "aws:autoscaling:groupName", Value: group.name },
        ],
      ]),
    );
    group.stop();
  });

  test("UpdateAutoScalingGroup takes a version by name; one EC2 does not have is a ValidationError", async () => {
    const group = newGroup({ desiredCapacity: 0, lifecycleHooks: [] });
    await autoScaling.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: group.name,
        LaunchTemplate: { LaunchTemplateName: "etcd-nodes", Version: "2" },
      }),
    );
    assert.deepEqual(group.launchTemplate, { id: TEMPLATE_ID, name: "etcd-nodes", version: "2" });
    await assert.rejects(
      autoScaling.send(
        new UpdateAutoScalingGroupCommand({
          AutoScalingGroupName: group.name,
          LaunchTemplate: { LaunchTemplateId: TEMPLATE_ID, Version: "9" },
        }),
      ),
      {
        name: "ValidationError",
        message: /launch template version 9 of lt-0a1b2c3d4e5f60718 does not exist/,
      },
    );
    assert.equal(group.launchTemplate?.version, "2", "unchanged");
  });
});

describe("instance refresh to a desired configuration", () => {
  test("SkipMatching replaces only the outdated instances, one at a time, each replacement InService before its predecessor goes", async () => {
    // Two instances on version 1 and one already on version 2, the group itself on version 1.
    const group = newGroup({ desiredCapacity: 2 });
    const events: { at: string; instance: string; inService: number; total: number }[] = [];
    const stop = controlPlane(group, undefined, (event) => {
      const instances = group.instances();
      events.push({
        at: event.detail.LifecycleTransition.endsWith("LAUNCHING") ? "launch" : "terminate",
        instance: event.detail.EC2InstanceId,
        inService: instances.filter((i) => i.lifecycleState === "InService").length,
        total: instances.length,
      });
    });
    try {
      await settled(group, 2);
      group.setLaunchTemplate({ id: TEMPLATE_ID, version: "2" });
      group.setDesiredCapacity(3);
      await settled(group, 3);
      group.setLaunchTemplate({ id: TEMPLATE_ID, version: "1" });
      const outdated = group.instances().filter((i) => i.launchTemplate?.version === "1");
      const current = group.instances().find((i) => i.launchTemplate?.version === "2");
      assert.equal(outdated.length, 2);
      assert.ok(current);
      events.length = 0;

      const id = await startRefresh(group, {
        DesiredConfiguration: DESIRED_V2,
        Preferences: { ...ONE_AT_A_TIME, SkipMatching: true },
      });
      const started = await describeRefresh(group, id);
      assert.equal(started.InstancesToUpdate, 2, "the instance already on version 2 is skipped");
      const refresh = await ended(group, id);

      assert.equal(refresh.Status, "Successful", refresh.StatusReason);
      assert.deepEqual(refresh.DesiredConfiguration, {
        LaunchTemplate: { LaunchTemplateId: TEMPLATE_ID, LaunchTemplateName: "etcd-nodes", Version: "2" },
      });
      assert.deepEqual(refresh.Preferences, {
        MinHealthyPercentage: 100,
        MaxHealthyPercentage: 110,
        InstanceWarmup: 0,
        SkipMatching: true,
      });
      assert.deepEqual([refresh.PercentageComplete, refresh.InstancesToUpdate], [100, 0]);
      assert.deepEqual(
        events.map((e) => e.at),
        ["launch", "terminate", "launch", "terminate"],
        "one at a time, launch before terminate",
      );
      for (const event of events.filter((e) => e.at === "terminate")) {
        assert.ok(
          outdated.some((i) => i.id === event.instance),
          "only outdated instances are terminated",
        );
        // The predecessor is Terminating:Wait by now: the others are the desired capacity, its
        // replacement among them.
        assert.equal(event.inService, 3, "the replacement was InService before its predecessor left");
      }
      assert.ok(Math.max(...events.map((e) => e.total)) <= 4, "never more than one extra instance");
      assert.ok(
        group.instances().some((i) => i.id === current.id),
        "the matching instance was not replaced",
      );
      assert.deepEqual(versionsOf(group), ["2", "2", "2"]);
      const described = (
        await autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group.name] }))
      ).AutoScalingGroups?.[0];
      assert.equal(described?.LaunchTemplate?.Version, "2", "the group takes the desired configuration");
    } finally {
      stop();
      group.stop();
    }
  });

  test("SkipMatching with nothing to change succeeds at once and replaces nothing", async () => {
    const group = newGroup({ lifecycleHooks: [], launchTemplate: { id: TEMPLATE_ID, version: "2" } });
    const before = group.instances().map((i) => i.id);
    const id = await startRefresh(group, {
      DesiredConfiguration: DESIRED_V2,
      Preferences: { ...ONE_AT_A_TIME, SkipMatching: true },
    });
    const refresh = await ended(group, id);
    assert.deepEqual(
      [refresh.Status, refresh.PercentageComplete, refresh.InstancesToUpdate],
      ["Successful", 100, 0],
    );
    assert.deepEqual(
      group.instances().map((i) => i.id),
      before,
    );
    group.stop();
  });

  test("a checkpoint pauses the refresh for CheckpointDelay", async () => {
    const group = newGroup({ desiredCapacity: 4 });
    const stop = controlPlane(group);
    try {
      await settled(group, 4);
      const id = await startRefresh(group, {
        DesiredConfiguration: DESIRED_V2,
        Preferences: {
          MinHealthyPercentage: 100,
          MaxHealthyPercentage: 125,
          InstanceWarmup: 0,
          CheckpointPercentages: [50, 100],
          CheckpointDelay: 1,
        },
      });
      const paused = await until("the checkpoint", async () => {
        const refresh = await describeRefresh(group, id);
        return refresh.StatusReason?.startsWith("Checkpoint 50% reached") ? refresh : undefined;
      });
      const pausedAt = Date.now();
      assert.equal(paused.PercentageComplete, 50);
      assert.deepEqual(versionsOf(group), ["1", "1", "2", "2"], "exactly half replaced at the checkpoint");
      await until("a third replacement", () => group.instances().length === 5, 3000);
      assert.ok(Date.now() - pausedAt >= 900, `waited out the delay (${Date.now() - pausedAt} ms)`);
      const refresh = await ended(group, id);
      assert.equal(refresh.Status, "Successful");
      assert.deepEqual(refresh.Preferences?.CheckpointPercentages, [50, 100]);
      assert.equal(refresh.Preferences?.CheckpointDelay, 1);
      assert.deepEqual(versionsOf(group), ["2", "2", "2", "2"]);
    } finally {
      stop();
      group.stop();
    }
  });

  test("with AutoRollback, a refused replacement rolls back what the refresh deployed", async () => {
    const group = newGroup({ desiredCapacity: 2 });
    // The first node on version 2 is admitted; the second is refused, as a control plane refuses a
    // node whose etcd version the cluster must not take.
    let admittedOnV2 = 0;
    const stop = controlPlane(group, (instance) => {
      if (instance.launchTemplate?.version !== "2") return "CONTINUE";
      admittedOnV2 += 1;
      return admittedOnV2 === 1 ? "CONTINUE" : "ABANDON";
    });
    try {
      await settled(group, 2);
      const id = await startRefresh(group, {
        DesiredConfiguration: DESIRED_V2,
        Preferences: { ...ONE_AT_A_TIME, SkipMatching: true, AutoRollback: true },
      });
      const refresh = await ended(group, id);
      assert.equal(refresh.Status, "RollbackSuccessful", refresh.StatusReason);
      assert.match(
        refresh.RollbackDetails?.RollbackReason ?? "",
        /was abandoned\. AutoRollback: rolling back\.$/,
      );
      assert.equal(refresh.RollbackDetails?.PercentageCompleteOnRollback, 50);
      assert.equal(refresh.RollbackDetails?.InstancesToUpdateOnRollback, 1);
      assert.equal(refresh.PercentageComplete, 0, "back down to 0 once rolled back");
      assert.deepEqual(versionsOf(group), ["1", "1"], "what was deployed is back on version 1");
      assert.equal(group.launchTemplate?.version, "1", "the group keeps its configuration");
      assert.ok(allInService(group) && group.instances().length === 2);
    } finally {
      stop();
      group.stop();
    }
  });

  test("an alarm rolls back with AutoRollback, and the rollback is not failed by the refresh's own launch", async () => {
    const group = newGroup({ desiredCapacity: 2 });
    // Version 2 nodes wait in Pending:Wait until the test refuses them; the others are admitted.
    const stop = controlPlane(group, (instance) =>
      instance.launchTemplate?.version === "2" ? "HOLD" : "CONTINUE",
    );
    try {
      await settled(group, 2);
      const id = await startRefresh(group, {
        DesiredConfiguration: DESIRED_V2,
        Preferences: { ...ONE_AT_A_TIME, AutoRollback: true },
      });
      const pending = await until("the first version 2 node", () =>
        group.instances().find((i) => i.launchTemplate?.version === "2"),
      );
      group.instanceRefreshes.alarm("etcd-roll-stalled");
      assert.equal((await describeRefresh(group, id)).Status, "RollbackInProgress");
      group.completeLifecycleAction({ hookName: "launch", instanceId: pending.id, result: "ABANDON" });
      const refresh = await ended(group, id);
      assert.equal(refresh.Status, "RollbackSuccessful", refresh.StatusReason);
      assert.match(
        refresh.RollbackDetails?.RollbackReason ?? "",
        /^An alarm went into ALARM: etcd-roll-stalled/,
      );
      assert.ok(!group.instances().some((i) => i.id === pending.id));
      assert.deepEqual(versionsOf(group), ["1", "1"]);
    } finally {
      stop();
      group.stop();
    }
  });

  test("without AutoRollback the refresh fails, and RollbackInstanceRefresh needs a desired configuration", async () => {
    const group = newGroup({ desiredCapacity: 1, lifecycleHooks: [] });
    await assert.rejects(startRefresh(group, { Preferences: { AutoRollback: true } }), {
      name: "ValidationError",
      message:
        "AutoRollback is not possible: no desired configuration was specified for the instance refresh.",
    });
    await startRefresh(group, { Preferences: { CheckpointPercentages: [50, 100], InstanceWarmup: 5 } });
    await assert.rejects(
      autoScaling.send(new RollbackInstanceRefreshCommand({ AutoScalingGroupName: group.name })),
      {
        name: "IrreversibleInstanceRefreshFault",
        message:
          "RollbackInstanceRefresh is not possible: no desired configuration was specified for the instance refresh.",
      },
    );
    group.stop();
  });

  test("a manual RollbackInstanceRefresh replaces what was deployed", async () => {
    const group = newGroup({ desiredCapacity: 2 });
    let refreshId = "";
    let rolledBack = false;
    // Roll back while the refresh's second replacement is held in Pending:Wait.
    const stop = controlPlane(group, (instance) => {
      const onV2 = group.instances().filter((i) => i.launchTemplate?.version === "2");
      if (instance.launchTemplate?.version === "2" && onV2.length === 2 && !rolledBack) {
        rolledBack = true;
        void autoScaling.send(new RollbackInstanceRefreshCommand({ AutoScalingGroupName: group.name }));
      }
      return "CONTINUE";
    });
    try {
      await settled(group, 2);
      refreshId = await startRefresh(group, { DesiredConfiguration: DESIRED_V2, Preferences: ONE_AT_A_TIME });
      const refresh = await ended(group, refreshId);
      assert.equal(refresh.Status, "RollbackSuccessful", refresh.StatusReason);
      assert.match(refresh.RollbackDetails?.RollbackReason ?? "", /manual rollback/);
      assert.deepEqual(versionsOf(group), ["1", "1"]);
    } finally {
      stop();
      group.stop();
    }
  });
});

describe("a stack update that changes the launch template (CloudFormation's AutoScalingInstanceRefresh policy)", () => {
  const policy = readInstanceRefreshPolicy({
    AutoScalingInstanceRefresh: { Strategy: "Rolling", Preferences: { InstanceWarmup: "0" } },
  });

  test("reads the policy with CloudFormation's defaults: 100/110, SkipMatching", () => {
    assert.deepEqual(policy, {
      minHealthyPercentage: 100,
      maxHealthyPercentage: 110,
      instanceWarmupSeconds: 0,
      skipMatching: true,
      checkpointPercentages: undefined,
      checkpointDelaySeconds: undefined,
    });
    assert.equal(readInstanceRefreshPolicy({ AutoScalingScheduledAction: {} }), undefined);
    assert.throws(
      () =>
        readInstanceRefreshPolicy({
          AutoScalingInstanceRefresh: { Strategy: "Rolling" },
          AutoScalingRollingUpdate: {},
        }),
      { name: "InvalidUpdatePolicyError" },
    );
  });

  test("rolls every node onto the new version and completes; the same version rolls nothing", async () => {
    const group = newGroup();
    const stop = controlPlane(group);
    try {
      await settled(group, 3);
      const before = group.instances().map((i) => i.id);
      const same = await updateLaunchTemplate({
        group,
        launchTemplate: group.launchTemplate ?? assert.fail(),
        policy,
      });
      assert.deepEqual([same.status, same.refreshes.length], ["UPDATE_COMPLETE", 0]);
      assert.deepEqual(
        group.instances().map((i) => i.id),
        before,
        "nothing replaced",
      );

      const result = await updateLaunchTemplate({
        group,
        launchTemplate: VERSION_2,
        policy,
      });
      assert.equal(result.status, "UPDATE_COMPLETE", result.reason);
      assert.equal(result.refreshes[0]?.status, "Successful");
      assert.deepEqual(versionsOf(group), ["2", "2", "2"]);
      assert.equal(group.launchTemplate?.version, "2");
    } finally {
      stop();
      group.stop();
    }
  });

  test("a refused node fails the update; the stack rolls back with a refresh back to the old version", async () => {
    const group = newGroup();
    const stop = controlPlane(group, (instance) =>
      instance.launchTemplate?.version === "2" ? "ABANDON" : "CONTINUE",
    );
    try {
      await settled(group, 3);
      const before = group
        .instances()
        .map((i) => i.id)
        .sort();
      const result = await updateLaunchTemplate({
        group,
        launchTemplate: VERSION_2,
        policy,
      });
      assert.equal(result.status, "UPDATE_ROLLBACK_COMPLETE");
      assert.match(result.reason ?? "", /was abandoned/);
      assert.deepEqual(
        result.refreshes.map((r) => [r.status, r.desiredConfiguration?.version]),
        [
          ["Failed", "2"],
          ["Successful", "1"],
        ],
      );
      assert.deepEqual(
        group
          .instances()
          .map((i) => i.id)
          .sort(),
        before,
        "the roll stopped at its first node",
      );
      assert.equal(group.launchTemplate?.version, "1");
    } finally {
      stop();
      group.stop();
    }
  });

  test("a roll that outlasts the deploy's bound is failed and rolled back", async () => {
    // Version 2 nodes are held in Pending:Wait, neither admitted nor refused, until the launch hook's
    // timeout abandons them.
    const group = newGroup({
      desiredCapacity: 2,
      lifecycleHooks: [
        { name: "launch", transition: "autoscaling:EC2_INSTANCE_LAUNCHING", heartbeatTimeoutMs: 800 },
      ],
    });
    const stop = emulator.onLifecycleEvent((event) => {
      const instance = group.instances().find((i) => i.id === event.detail.EC2InstanceId);
      if (event.detail.AutoScalingGroupName !== group.name || instance?.launchTemplate?.version === "2")
        return;
      group.completeLifecycleAction({
        hookName: event.detail.LifecycleHookName,
        token: event.detail.LifecycleActionToken,
        result: "CONTINUE",
      });
    });
    try {
      await settled(group, 2);
      const result = await updateLaunchTemplate({
        group,
        launchTemplate: VERSION_2,
        policy,
        // Each direction gets the bound: the rollback's first step waits out the hook's timeout.
        boundMs: 600,
      });
      assert.equal(result.status, "UPDATE_ROLLBACK_COMPLETE", result.reason);
      assert.match(result.reason ?? "", /bound of 600 ms passed/);
      assert.deepEqual(versionsOf(group), ["1", "1"]);
    } finally {
      stop();
      group.stop();
    }
  });

  test("when the old version is refused too, the rollback fails: UPDATE_ROLLBACK_FAILED", async () => {
    // As after a completed minor upgrade, when etcd no longer takes the old minor: the two first
    // nodes and the first version 2 node are admitted, every later node is refused.
    let admissions = 3;
    const group = newGroup({ desiredCapacity: 2 });
    const stop = controlPlane(group, () => (admissions-- > 0 ? "CONTINUE" : "ABANDON"));
    try {
      await settled(group, 2);
      const result = await updateLaunchTemplate({
        group,
        launchTemplate: VERSION_2,
        policy,
      });
      assert.equal(result.status, "UPDATE_ROLLBACK_FAILED", result.reason);
      assert.deepEqual(
        result.refreshes.map((r) => r.status),
        ["Failed", "Failed"],
      );
      assert.match(result.reason ?? "", /the rollback failed too/);
    } finally {
      stop();
      group.stop();
    }
  });
});
