// A node enters the group: register it in the ledger (its place in the bootstrap order), let the
// engine decide, publish its configuration. The launch action stays pending until the node
// reports ready — except for a node left out of the cluster, which goes in service at once, and a
// node whose etcd version the cluster must not take, whose launch is abandoned.
import type { LedgerNode } from "../adapters/ledger/items";
import type { LedgerContents } from "../adapters/ledger/ledger";
import type { NodeConfig } from "../domain/node-config";
import { EtcdAsgError } from "../errors";
import { type ChangeOutcome, changeMembership } from "./change-membership";
import type { GroupReading } from "./load-snapshot";
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

export interface LaunchOptions {
  /** The launch action's token (a lifecycle event), completed with the node's answer where it ends the action. */
  readonly token?: string;
  /** The release the node reports it installed (its configuration request). */
  readonly etcdVersion?: string;
  /** The group's instances as the caller read them (or is reading them) this invocation, if it did. */
  readonly reading?: GroupReading;
  /** The node's ledger record as the caller is reading it (a launch event reads it with its token). */
  readonly record?: Promise<LedgerNode | undefined>;
  /** A ledger read of this invocation holds the node registered (with `etcdVersion` recorded, when
   * given): its registration and version are not written again. */
  readonly registered?: boolean;
  /** The ledger as this invocation has just read it, nothing written since (a long poll's reading
   * that moved). When it holds the node registered (as `registered` says), nothing is written
   * before the first decision, which is made on it instead of reading it again. */
  readonly ledger?: LedgerContents;
  /** How long to wait for another actor's membership lock before answering wait (changeMembership's
   * lockWaitMs); the config's lock wait by default. */
  readonly lockWaitMs?: number;
}

export async function launchNode(
  rt: Runtime,
  instanceId: string,
  options: LaunchOptions = {},
): Promise<LaunchResult> {
  const { token, etcdVersion } = options;
  const instances = await (options.reading ?? rt.group.instances());
  const instance = instances.find((i) => i.id === instanceId);
  if (instance === undefined) throw new UnknownInstanceError(instanceId, rt.config.asgName);
  if (instance.privateIp === undefined) throw new NoPrivateIpYetError(instanceId);
  const { ledger } = options;
  const node = ledger?.nodes.find((n) => n.instanceId === instanceId);
  const registered =
    options.registered ??
    (node !== undefined && (etcdVersion === undefined || node.etcdVersion === etcdVersion));
  if (!registered) {
    await rt.ledger.registerNode(instanceId, instance.privateIp, rt.now(), options.record);
    if (etcdVersion !== undefined) await rt.ledger.recordNodeVersion(instanceId, etcdVersion);
  }
  const outcome = await changeMembership(
    rt,
    { event: "launch", instanceId },
    instances,
    registered ? ledger : undefined,
    { lockWaitMs: options.lockWaitMs },
  );
  const config = await publish(rt, instanceId, outcome);
  if (config.role === "not-a-member") {
    await rt.group.complete({ hookName: rt.config.launchHookName, instanceId, token }, "CONTINUE");
  }
  if (config.role === "refused") {
    // etcd's version rules refuse the node: its launch fails, which stops an instance refresh there.
    rt.logger.error("etcd version refused; abandoning the launch", { instanceId, reason: config.reason });
    rt.signals.lifecycleActionFailure(instanceId, config.reason);
    await rt.group.complete({ hookName: rt.config.launchHookName, instanceId, token }, "ABANDON");
  }
  return { outcome, config };
}
