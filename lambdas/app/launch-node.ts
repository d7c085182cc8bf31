// A node enters the group: register it in the ledger (its place in the bootstrap order), let the
// engine decide, publish its configuration. The launch action stays pending until the node
// reports ready — except for a node left out of the cluster, which goes in service at once.
import type { NodeConfig } from "../domain/node-config";
import { EtcdAsgError } from "../errors";
import { type ChangeOutcome, changeMembership } from "./change-membership";
import type { Runtime } from "./ports";
import { publish } from "./publish";

export class NoPrivateIpYetError extends EtcdAsgError {
  override readonly name = "NoPrivateIpYetError";
  constructor(instanceId: string) {
    super(`${instanceId} has no private IP yet; retry later`, { retryable: true });
  }
}

export class UnknownInstanceError extends EtcdAsgError {
  override readonly name = "UnknownInstanceError";
  constructor(instanceId: string, asgName: string) {
    super(`${instanceId} is not an instance of Auto Scaling group ${asgName}`);
  }
}

export interface LaunchResult {
  readonly outcome: ChangeOutcome;
  readonly config: NodeConfig;
}

export async function launchNode(rt: Runtime, instanceId: string, token?: string): Promise<LaunchResult> {
  const instances = await rt.group.instances();
  const instance = instances.find((i) => i.id === instanceId);
  if (instance === undefined) throw new UnknownInstanceError(instanceId, rt.config.asgName);
  if (instance.privateIp === undefined) throw new NoPrivateIpYetError(instanceId);
  await rt.ledger.registerNode(instanceId, instance.privateIp, rt.now());
  const outcome = await changeMembership(rt, { event: "launch", instanceId }, instances);
  const config = await publish(rt, instanceId, outcome);
  if (config.role === "not-a-member") {
    await rt.group.complete({ hookName: rt.config.launchHookName, instanceId, token }, "CONTINUE");
  }
  return { outcome, config };
}
