// The local AWS emulator driven by the real `aws` CLI (botocore's own Query-protocol parsers), as the
// boot script and operators would call it: answers and errors must come out AWS-shaped, instance
// refreshes included.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { AwsEmulator } from "../../local/aws/emulator";

const run = promisify(execFile);
const awsOnPath = (process.env.PATH ?? "").split(delimiter).some((dir) => existsSync(join(dir, "aws")));
const skip = awsOnPath ? false : "the `aws` CLI is not on PATH: install awscli to run this test";

let emulator: AwsEmulator;
let endpoint: string;

before(async () => {
  emulator = new AwsEmulator({ privateIps: { first: "127.0.43.1", last: "127.0.43.50" } });
  endpoint = await emulator.start();
});

after(() => emulator.stop());

/** Runs `aws … --endpoint-url <emulator>` with dummy credentials and no user configuration. */
async function aws(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_PAGER: "",
  };
  try {
    const { stdout, stderr } = await run(
      "aws",
      [...args, "--endpoint-url", endpoint, "--region", "us-east-1"],
      {
        env,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("AWS emulator through the aws CLI", { skip }, () => {
  test("describe-auto-scaling-groups, describe-instances and lifecycle errors answer like AWS", async () => {
    const group = emulator.createAutoScalingGroup({
      name: "cli-group",
      minSize: 0,
      maxSize: 3,
      desiredCapacity: 1,
      availabilityZones: ["us-east-1a"],
      lifecycleHooks: [
        { name: "launch", transition: "autoscaling:EC2_INSTANCE_LAUNCHING", heartbeatTimeoutMs: 60_000 },
      ],
    });
    const [instance] = group.instances();
    assert.ok(instance);

    const groups = await aws("autoscaling", "describe-auto-scaling-groups");
    assert.equal(groups.code, 0, groups.stderr);
    const [described] = JSON.parse(groups.stdout).AutoScalingGroups;
    assert.equal(described.AutoScalingGroupName, "cli-group");
    assert.equal(described.DesiredCapacity, 1);
    assert.deepEqual(described.Instances, [
      {
        InstanceId: instance.id,
        InstanceType: "t3.small",
        AvailabilityZone: "us-east-1a",
        LifecycleState: "Pending:Wait",
        HealthStatus: "Healthy",
        ProtectedFromScaleIn: false,
      },
    ]);

    const instances = await aws(
      "ec2",
      "describe-instances",
      "--filters",
      `Name=instance-id,Values=${instance.id}`,
    );
    assert.equal(instances.code, 0, instances.stderr);
    const [ec2Instance] = JSON.parse(instances.stdout).Reservations[0].Instances;
    assert.equal(ec2Instance.PrivateIpAddress, instance.privateIp);
    assert.equal(ec2Instance.State.Name, "running");

    const complete = [
      "autoscaling",
      "complete-lifecycle-action",
      "--auto-scaling-group-name",
      "cli-group",
      "--lifecycle-hook-name",
      "launch",
      "--instance-id",
      instance.id,
      "--lifecycle-action-result",
      "CONTINUE",
    ];
    const first = await aws(...complete);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(group.instances()[0]?.lifecycleState, "InService");
    const again = await aws(...complete);
    assert.notEqual(again.code, 0, "a service error fails the command (255 in CLI v1, 254 in v2)");
    assert.match(
      again.stderr,
      new RegExp(
        `An error occurred \\(ValidationError\\) when calling the CompleteLifecycleAction operation: No active Lifecycle Action found with instance ID ${instance.id}`,
      ),
    );
  });

  test("start-instance-refresh and describe-instance-refreshes answer like AWS", async () => {
    const group = emulator.createAutoScalingGroup({
      name: "cli-refresh-group",
      minSize: 0,
      maxSize: 3,
      desiredCapacity: 1,
      availabilityZones: ["us-east-1a"],
    });
    const [original] = group.instances();
    assert.ok(original);
    const name = ["--auto-scaling-group-name", "cli-refresh-group"];
    const started = await aws(
      "autoscaling",
      "start-instance-refresh",
      ...name,
      "--preferences",
      '{"MinHealthyPercentage":100,"MaxHealthyPercentage":200,"InstanceWarmup":0}',
    );
    assert.equal(started.code, 0, started.stderr);
    const { InstanceRefreshId } = JSON.parse(started.stdout);
    let refresh: Record<string, unknown> = {};
    for (const deadline = Date.now() + 5000; refresh.Status !== "Successful" && Date.now() < deadline; ) {
      const described = await aws("autoscaling", "describe-instance-refreshes", ...name);
      assert.equal(described.code, 0, described.stderr);
      [refresh] = JSON.parse(described.stdout).InstanceRefreshes;
    }
    assert.equal(refresh.InstanceRefreshId, InstanceRefreshId);
    assert.equal(refresh.Status, "Successful");
    assert.equal(refresh.PercentageComplete, 100);
    assert.deepEqual(refresh.Preferences, {
      MinHealthyPercentage: 100,
      MaxHealthyPercentage: 200,
      InstanceWarmup: 0,
      SkipMatching: false,
    });
    assert.ok(!group.instances().some((i) => i.id === original.id), "the original instance was replaced");
  });

  test("a refresh to a desired launch template version with skip matching, and the versions it leaves", async () => {
    const id = "lt-0fedcba9876543210";
    emulator.launchTemplates.put({
      id,
      name: "cli-nodes",
      version: "1",
      data: { ImageId: "ami-0000000000000000a" },
    });
    emulator.launchTemplates.put({ id, version: "2", data: { ImageId: "ami-0000000000000000b" } });
    const group = emulator.createAutoScalingGroup({
      name: "cli-template-group",
      minSize: 0,
      maxSize: 4,
      desiredCapacity: 2,
      availabilityZones: ["us-east-1a"],
      launchTemplate: { id, version: "1" },
    });
    const name = ["--auto-scaling-group-name", "cli-template-group"];
    const started = await aws(
      "autoscaling",
      "start-instance-refresh",
      ...name,
      "--desired-configuration",
      `{"LaunchTemplate":{"LaunchTemplateName":"cli-nodes","Version":"2"}}`,
      "--preferences",
      '{"MinHealthyPercentage":100,"MaxHealthyPercentage":110,"InstanceWarmup":0,"SkipMatching":true}',
    );
    assert.equal(started.code, 0, started.stderr);
    let refresh: Record<string, unknown> = {};
    for (const deadline = Date.now() + 5000; refresh.Status !== "Successful" && Date.now() < deadline; ) {
      const described = await aws("autoscaling", "describe-instance-refreshes", ...name);
      assert.equal(described.code, 0, described.stderr);
      [refresh] = JSON.parse(described.stdout).InstanceRefreshes;
    }
    assert.equal(refresh.Status, "Successful");
    const version2 = { LaunchTemplateId: id, LaunchTemplateName: "cli-nodes", Version: "2" };
    assert.deepEqual(refresh.DesiredConfiguration, { LaunchTemplate: version2 });
    assert.equal((refresh.Preferences as { SkipMatching: boolean }).SkipMatching, true);

    const groups = await aws(
      "autoscaling",
      "describe-auto-scaling-groups",
      "--auto-scaling-group-names",
      "cli-template-group",
    );
    assert.equal(groups.code, 0, groups.stderr);
    const [described] = JSON.parse(groups.stdout).AutoScalingGroups;
    assert.deepEqual(described.LaunchTemplate, version2);
    assert.deepEqual(
      described.Instances.map((i: { LaunchTemplate: unknown }) => i.LaunchTemplate),
      [version2, version2],
    );
    assert.equal(group.instances().length, 2);

    const rollback = await aws("autoscaling", "rollback-instance-refresh", ...name);
    assert.notEqual(rollback.code, 0);
    assert.match(
      rollback.stderr,
      /\(ActiveInstanceRefreshNotFound\) when calling the RollbackInstanceRefresh operation: No in progress or pending Instance Refresh found for Auto Scaling group cli-template-group/,
    );
  });
});
