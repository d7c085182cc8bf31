// Steps the boot script and Auto Scaling take, replayed against the control-plane test bed: deliver
// events, ask for configurations until published, start etcd from them, report ready.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { takeSnapshotIfDue } from "../../lambdas/app/snapshots";
import type { SnapshotRecord } from "../../lambdas/domain/durability";
import type { HookKind } from "../../lambdas/events/lifecycle-event";
import { handleNodeApi } from "../../lambdas/node-api/respond";
import type { HttpResponse } from "../../lambdas/node-api/serve";
import type { LifecycleEvent } from "../../local/aws/types";
import { type BedScope, ControlPlaneBed, parseEnv, settingsOf } from "./control-plane";

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** The node's configuration once the node API answers 200 (a boot script's polling loop). */
export async function publishedConfig(
  bed: ControlPlaneBed,
  instanceId: string,
): Promise<Record<string, string>> {
  return eventually(`configuration of ${instanceId}`, async () => {
    const answer = await bed.nodeApi("config", instanceId);
    if (answer.statusCode === 200) return parseEnv(answer.body);
    if (answer.statusCode !== 202 && answer.statusCode !== 503) {
      throw new Error(`node API answered ${answer.statusCode}: ${answer.body}`);
    }
    return undefined;
  });
}

/** Reports ready until the node API answers 200 (the learner may need a moment to catch up). */
export async function reportReady(bed: ControlPlaneBed, instanceId: string): Promise<Record<string, string>> {
  return eventually(`ready of ${instanceId}`, async () => {
    const answer = await bed.nodeApi("ready", instanceId);
    if (answer.statusCode === 200) return parseEnv(answer.body);
    if (answer.statusCode !== 202 && answer.statusCode !== 503) {
      throw new Error(`ready answered ${answer.statusCode}: ${answer.body}`);
    }
    return undefined;
  });
}

/** Boots one node as the boot script would: configuration, etcd, ready. */
export async function bootNode(bed: ControlPlaneBed, instanceId: string): Promise<Record<string, string>> {
  const config = await publishedConfig(bed, instanceId);
  if (config.ETCD_ASG_DECISION === "not-a-member") return config;
  await bed.startEtcd(instanceId, settingsOf(config));
  await bed.waitEtcdHealthy(instanceId);
  await reportReady(bed, instanceId);
  return config;
}

/**
 * `instanceId`'s configuration request as the function URL hands it over, from `caller` (default the
 * instance itself): a GET, or a POST of `csr` (the boot script's way, answered with certificates).
 */
export function askConfig(
  bed: ControlPlaneBed,
  instanceId: string,
  options: { readonly query?: Record<string, string>; readonly csr?: string; readonly caller?: string } = {},
): Promise<HttpResponse> {
  const role = bed.runtime.config.instanceRoleArn
    .replace(":iam::", ":sts::")
    .replace(":role/", ":assumed-role/");
  return handleNodeApi(
    bed.runtime,
    {
      version: "2.0",
      rawPath: `/v1/nodes/${instanceId}/config`,
      queryStringParameters: { format: "env", ...options.query },
      requestContext: {
        http: { method: options.csr === undefined ? "GET" : "POST" },
        authorizer: { iam: { userArn: `${role}/${options.caller ?? instanceId}` } },
      },
      body: options.csr,
    },
    { awsRequestId: randomUUID() },
  );
}

/** Delivers every launch event captured so far, all at once. */
export async function deliverLaunches(bed: ControlPlaneBed): Promise<void> {
  await Promise.all(bed.eventsFor("launch").map((event) => bed.deliver("launch", event)));
}

/** Forms the initial cluster from the group's first instances: all configurations, then all etcds, then ready. */
export async function formCluster(bed: ControlPlaneBed): Promise<string[]> {
  const size = bed.runtime.config.policy.clusterSize;
  await eventually("launch events", () => (bed.eventsFor("launch").length >= size ? true : undefined));
  await deliverLaunches(bed);
  const ids = bed.instanceIds();
  const configs = await Promise.all(ids.map(async (id) => [id, await publishedOrWaiting(bed, id)] as const));
  const members = configs.filter(([, c]) => c.ETCD_ASG_DECISION === "member").map(([id]) => id);
  for (const [id, config] of configs) {
    if (config.ETCD_ASG_DECISION === "member") await bed.startEtcd(id, settingsOf(config));
  }
  await Promise.all(members.map((id) => bed.waitEtcdHealthy(id)));
  for (const id of members) await reportReady(bed, id);
  return members;
}

/** A bed whose 3 instances formed a running 3-member cluster through the control plane. */
export async function formedCluster(
  t: BedScope,
  env?: Record<string, string>,
): Promise<{ bed: ControlPlaneBed; ids: string[] }> {
  const bed = await ControlPlaneBed.start(t, { clusterSize: 3, capacity: 3, env });
  const ids = await formCluster(bed);
  if (ids.length !== 3) throw new Error(`expected 3 initial members, formed ${ids.join(", ")}`);
  return { bed, ids };
}

/** The first instance of the group not among `known`, once the group has launched one. */
export function newInstance(bed: ControlPlaneBed, known: readonly string[]): Promise<string> {
  return eventually("a new instance", () => bed.instanceIds().find((id) => !known.includes(id)));
}

/**
 * A 4th instance with room to join: under `replace` a full healthy cluster leaves a 4th node out, so
 * the first of `ids` leaves (its terminate event removes its member). Returns the new instance.
 */
export async function fourthWithRoom(bed: ControlPlaneBed, ids: readonly string[]): Promise<string> {
  bed.group.setDesiredCapacity(4);
  const fourth = await newInstance(bed, ids);
  const victim = ids[0] as string;
  bed.group.terminateInstance(victim, true);
  const terminate = await bed.deliver("terminate", await eventOf(bed, "terminate", victim));
  if (terminate.status !== "completed") throw new Error(`terminate of ${victim}: ${terminate.status}`);
  return fourth;
}

/** The first lifecycle event of `kind` captured for `instanceId`, once there is one. */
export function eventOf(bed: ControlPlaneBed, kind: HookKind, instanceId: string): Promise<LifecycleEvent> {
  return eventually(`${kind} event of ${instanceId}`, () => bed.eventsFor(kind, instanceId)[0]);
}

/** Kills `victim`'s etcd and waits until the others of `members` have a leader again (it may have led). */
export async function killMember(
  bed: ControlPlaneBed,
  members: readonly string[],
  victim: string,
): Promise<void> {
  await bed.killEtcd(victim);
  for (const id of members) if (id !== victim) await bed.waitEtcdHealthy(id);
}

/** Names of etcd's members, sorted. */
export async function memberNames(bed: ControlPlaneBed): Promise<string[]> {
  return (await bed.members()).map((m) => m.name).sort();
}

/** 200 answers as they are; a 202 (wait) as the env it carries. */
export async function publishedOrWaiting(
  bed: ControlPlaneBed,
  instanceId: string,
): Promise<Record<string, string>> {
  return eventually(`an answer for ${instanceId}`, async () => {
    const answer = await bed.nodeApi("config", instanceId);
    if (answer.statusCode === 200 || answer.statusCode === 202) return parseEnv(answer.body);
    return undefined;
  });
}

/** A snapshot taken on demand through the snapshot flow (the bed needs a bucket); throws if none was. */
export async function snapshotNow(bed: ControlPlaneBed): Promise<SnapshotRecord> {
  const outcome = await takeSnapshotIfDue(
    bed.invocation(),
    bed.durability(),
    "on-demand",
    Date.now() + 60_000,
  );
  if (outcome.outcome !== "taken") throw new Error(`no snapshot taken: ${outcome.reason}`);
  return outcome.snapshot;
}

/**
 * The held config request of an initial member, answered once the last of the initial set (`last`)
 * is launched: a 200 deciding "member". Returns the configuration.
 */
export async function answeredOnLastLaunch(
  bed: ControlPlaneBed,
  held: Promise<HttpResponse>,
  last: string,
): Promise<Record<string, string>> {
  await bed.deliver("launch", await eventOf(bed, "launch", last));
  const answer = await held;
  assert.equal(answer.statusCode, 200, answer.body);
  const config = parseEnv(answer.body);
  assert.equal(config.ETCD_ASG_DECISION, "member");
  return config;
}
