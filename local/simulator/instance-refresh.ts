// An instance refresh of the simulator's group as an operator runs one: StartInstanceRefresh through
// the real Auto Scaling SDK client, then DescribeInstanceRefreshes until it has ended.
import {
  DescribeInstanceRefreshesCommand,
  type RefreshPreferences,
  StartInstanceRefreshCommand,
} from "@aws-sdk/client-auto-scaling";
import type { Simulator } from "./simulator";

/** Resolves to the refresh's final status (Successful, Failed or Cancelled). */
export async function runInstanceRefresh(
  sim: Simulator,
  preferences: RefreshPreferences,
  timeoutMs: number,
): Promise<string | undefined> {
  const autoScaling = sim.autoScalingClient();
  try {
    sim.note(`StartInstanceRefresh ${JSON.stringify(preferences)}`);
    const { InstanceRefreshId } = await autoScaling.send(
      new StartInstanceRefreshCommand({ AutoScalingGroupName: sim.group.name, Preferences: preferences }),
    );
    let status: string | undefined;
    await sim.waitFor(
      "the instance refresh to end",
      async () => {
        const { InstanceRefreshes } = await autoScaling.send(
          new DescribeInstanceRefreshesCommand({
            AutoScalingGroupName: sim.group.name,
            InstanceRefreshIds: InstanceRefreshId === undefined ? [] : [InstanceRefreshId],
          }),
        );
        status = InstanceRefreshes?.[0]?.Status;
        return status !== "Pending" && status !== "InProgress" && status !== "Cancelling";
      },
      timeoutMs,
    );
    sim.note(`instance refresh ${status}`);
    return status;
  } finally {
    autoScaling.destroy();
  }
}
