// EC2 reads the control plane needs: an instance's private IP (none yet means "retry later"), and
// launch time and private IP for many instances in as few DescribeInstances calls as possible.
import { DescribeInstancesCommand, type EC2Client, type Instance as Ec2Instance } from "@aws-sdk/client-ec2";
import { InstanceNotFoundError, PrivateIpNotAssignedError } from "./errors";
import { translateAwsError } from "./translate";

export interface Ec2InstanceDetails {
  readonly instanceId: string;
  /** Undefined until EC2 has assigned one, and again once the instance is terminated. */
  readonly privateIp: string | undefined;
  /** Epoch milliseconds. */
  readonly launchTime: number;
  /** EC2's state name: `pending`, `running`, `shutting-down`, `terminated`, … */
  readonly state: string;
}

/** EC2 accepts at most 200 values per filter. */
const FILTER_VALUES_MAX = 200;

/** Details of the instances EC2 shows, by instance ID; IDs it does not know are simply absent
 * (an `instance-id` filter, unlike `InstanceIds`, does not fail the whole call on an unknown ID). */
export async function describeInstanceDetails(
  ec2: EC2Client,
  instanceIds: readonly string[],
): Promise<Map<string, Ec2InstanceDetails>> {
  const details = new Map<string, Ec2InstanceDetails>();
  for (let start = 0; start < instanceIds.length; start += FILTER_VALUES_MAX) {
    const batch = instanceIds.slice(start, start + FILTER_VALUES_MAX);
    await describeInto(ec2, [{ Name: "instance-id", Values: batch }], details);
  }
  return details;
}

/** Details of the group's instances that are not terminated, by the tag Auto Scaling puts on every
 * instance it launches: a read that needs no instance ID, so it can go out with the group's. */
export async function describeGroupInstanceDetails(
  ec2: EC2Client,
  groupName: string,
): Promise<Map<string, Ec2InstanceDetails>> {
  const details = new Map<string, Ec2InstanceDetails>();
  await describeInto(
    ec2,
    [
      { Name: "tag:aws:autoscaling:groupName", Values: [groupName] },
      { Name: "instance-state-name", Values: ["pending", "running"] },
    ],
    details,
  );
  return details;
}

async function describeInto(
  ec2: EC2Client,
  filters: { Name: string; Values: string[] }[],
  details: Map<string, Ec2InstanceDetails>,
): Promise<void> {
  let nextToken: string | undefined;
  do {
    const page = await ec2
      .send(new DescribeInstancesCommand({ Filters: filters, MaxResults: 1000, NextToken: nextToken }))
      .catch((error: unknown) => {
        throw translateAwsError(error, "DescribeInstances");
      });
    for (const instance of (page.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? [])) {
      const read = toDetails(instance);
      if (read) details.set(read.instanceId, read);
    }
    nextToken = page.NextToken;
  } while (nextToken);
}

/** The instance's private IP. Throws PrivateIpNotAssignedError (retryable) while it has none yet and
 * InstanceNotFoundError when EC2 does not know it or it is shutting down or terminated. */
export async function describePrivateIp(ec2: EC2Client, instanceId: string): Promise<string> {
  const details = (await describeInstanceDetails(ec2, [instanceId])).get(instanceId);
  if (!details) {
    throw new InstanceNotFoundError(`EC2 does not know instance ${instanceId}`, instanceId);
  }
  if (details.state === "shutting-down" || details.state === "terminated") {
    throw new InstanceNotFoundError(`instance ${instanceId} is ${details.state}`, instanceId);
  }
  if (details.privateIp === undefined) throw new PrivateIpNotAssignedError(instanceId);
  return details.privateIp;
}

function toDetails(instance: Ec2Instance): Ec2InstanceDetails | undefined {
  if (!instance.InstanceId || !instance.LaunchTime) return undefined;
  return {
    instanceId: instance.InstanceId,
    privateIp: instance.PrivateIpAddress || undefined,
    launchTime: instance.LaunchTime.getTime(),
    state: instance.State?.Name ?? "unknown",
  };
}
