// The local simulator: the whole etcd-asg system on one machine, one cluster per simulator. It runs
// a DynamoDB-compatible server with the ledger table, the AWS emulator with one Auto Scaling group
// and its two lifecycle hooks (as the CDK stack declares them), the four REAL Lambda bundles with
// EventBridge delivery, a reconcile schedule and a function URL in front of the node API, and one
// simulated instance (IMDS, the REAL boot script, a real etcd) per launched instance. Everything
// listens on 127.0.0.0/8 and everything started is stopped by stop() — or, if the process dies
// first, by the exit hook in processes.ts.
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import type { EmulatedAutoScalingGroup, TimedOutAction } from "../aws/auto-scaling-group";
import { AwsEmulator } from "../aws/emulator";
import type { EmulatedInstance } from "../aws/types";
import { localDynamoDbClients } from "../dynamodb/clients";
import { createLedgerTable } from "../dynamodb/ledger-table";
import { type LocalDynamoDb, startLocalDynamoDb } from "../dynamodb/server";
import { type AddressBlock, reserveAddressBlock } from "./address-block";
import { bundlePath, ensureBundles, type FunctionName } from "./bundles";
import { type EtcdMember, getKey, memberList, putKey } from "./etcd-client";
import { EventDelivery } from "./event-delivery";
import { FunctionUrl } from "./function-url";
import { LambdaFunction } from "./lambda-function";
import { SimulatedNode } from "./node";
import { Timeline, type TimelineEntry } from "./timeline";

export const ASG_NAME = "etcd-asg-sim";
export const LAUNCH_HOOK = "etcd-asg-launch";
export const TERMINATE_HOOK = "etcd-asg-terminate";
export const NODE_ROLE = "etcd-asg-node";
const REGION = "us-east-1";
const ACCOUNT = "123456789012";

export interface SimulatorOptions {
  /** etcd cluster size (CLUSTER_SIZE) and the group's initial desired capacity. @default 3 */
  readonly size?: number;
  /** The group's initial desired capacity. @default size */
  readonly capacity?: number;
  /** @default 9 */
  readonly maxSize?: number;
  /** JOIN_STRATEGY. @default "replace" */
  readonly strategy?: "replace" | "add";
  /** Launch hook heartbeat timeout (DefaultResult ABANDON). @default 120000 */
  readonly launchHeartbeatTimeoutMs?: number;
  /** Terminate hook heartbeat timeout (DefaultResult CONTINUE). @default 60000 */
  readonly terminateHeartbeatTimeoutMs?: number;
  /** LEARNER_READY_TIMEOUT_SECONDS. @default 25 */
  readonly learnerReadyTimeoutSeconds?: number;
  /** The reconcile schedule's period; 0 runs it only on demand. @default 5000 */
  readonly reconcileIntervalMs?: number;
  /** How long after killInstance the group's EC2 health check marks the instance Unhealthy. @default 3000 */
  readonly healthCheckDelayMs?: number;
  /** The group's DefaultInstanceWarmup, what an instance refresh waits after each new instance is
   * InService unless told otherwise. @default 2 */
  readonly instanceWarmupSeconds?: number;
  /** Progress lines (instances, events, membership changes). @default none */
  readonly log?: (line: string) => void;
  /** Aborting it while start() runs stops whatever start() launched so far and rejects. */
  readonly signal?: AbortSignal;
}

export class SimulatorError extends Error {
  override readonly name = "SimulatorError";
}

export class Simulator {
  readonly timeline: Timeline;
  readonly nodes = new Map<string, SimulatedNode>();
  /** Keys written with quorum, and their values: every one must stay readable. */
  readonly written = new Map<string, string>();
  private readonly cleanups: Array<() => Promise<void> | void> = [];
  private emulatorRef: AwsEmulator | undefined;
  private groupRef: EmulatedAutoScalingGroup | undefined;
  private deliveryRef: EventDelivery | undefined;
  private functions = new Map<FunctionName, LambdaFunction>();
  private nodeApiUrl = "";
  private bootsToSkip = 0;
  private reconcilerPaused = false;
  private stopping: Promise<void> | undefined;
  private lastMembers: EtcdMember[] = [];

  private constructor(
    readonly options: SimulatorOptions,
    readonly root: string,
    private readonly block: AddressBlock,
  ) {
    const log = options.log ?? (() => {});
    this.timeline = new Timeline((entry: TimelineEntry) => log(`${entry.kind}: ${entry.text}`));
  }

  get size(): number {
    return this.options.size ?? 3;
  }

  get emulator(): AwsEmulator {
    return required(this.emulatorRef, "emulator");
  }

  get group(): EmulatedAutoScalingGroup {
    return required(this.groupRef, "group");
  }

  get events(): EventDelivery {
    return required(this.deliveryRef, "event delivery");
  }

  fn(name: FunctionName): LambdaFunction {
    return required(this.functions.get(name), `function ${name}`);
  }

  /** Starts everything and launches the group's instances (all at once, as a new group does). */
  static async start(options: SimulatorOptions = {}): Promise<Simulator> {
    const size = options.size ?? 3;
    if (![1, 3, 5, 7].includes(size)) throw new SimulatorError(`size must be 1, 3, 5 or 7, got ${size}`);
    await ensureBundles(options.log);
    options.signal?.throwIfAborted();
    const block = reserveAddressBlock();
    const root = mkdtempSync(join(tmpdir(), "etcd-asg-sim-"));
    options.log?.(`simulator files in ${root}`);
    const sim = new Simulator(options, root, block);
    try {
      await sim.boot();
    } catch (error) {
      await sim.stop();
      throw error;
    }
    return sim;
  }

  /** Starts the parts one by one, each registered for stop() as soon as it runs; gives up between
   * two parts once the start is aborted. */
  private async boot(): Promise<void> {
    const log = this.options.log ?? (() => {});
    const aborted = () => this.options.signal?.throwIfAborted();
    this.cleanups.push(() => this.block.release());
    const dynamo: LocalDynamoDb = await startLocalDynamoDb();
    this.cleanups.push(() => dynamo.stop());
    aborted();
    const tableName = "etcd-asg-ledger";
    const clients = localDynamoDbClients(dynamo.endpoint);
    await createLedgerTable(clients.client, tableName);
    clients.destroy();
    aborted();

    const emulator = new AwsEmulator({
      region: REGION,
      account: ACCOUNT,
      privateIps: { first: this.block.address(11), last: this.block.address(60) },
      healthCheckDelayMs: this.options.healthCheckDelayMs ?? 3000,
      onListenerError: (error) => log(`simulator error: ${String(error)}`),
    });
    this.emulatorRef = emulator;
    const awsEndpoint = await emulator.start();
    this.cleanups.push(() => emulator.stop());
    aborted();

    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      TZ: "UTC",
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: "ASIALAMBDAEXECROLE00",
      AWS_SECRET_ACCESS_KEY: "local-lambda-execution-role",
      AWS_SESSION_TOKEN: "local",
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_AUTO_SCALING: awsEndpoint,
      AWS_ENDPOINT_URL_EC2: awsEndpoint,
      CLUSTER_NAME: `sim-${randomUUID().slice(0, 8)}`,
      ASG_NAME,
      LEDGER_TABLE: tableName,
      LAUNCH_HOOK_NAME: LAUNCH_HOOK,
      TERMINATE_HOOK_NAME: TERMINATE_HOOK,
      CLUSTER_SIZE: String(this.size),
      JOIN_STRATEGY: this.options.strategy ?? "replace",
      ETCD_DATA_DIR: "/var/lib/etcd",
      LEARNER_READY_TIMEOUT_SECONDS: String(this.options.learnerReadyTimeoutSeconds ?? 25),
      LOCK_TTL_SECONDS: "30",
      LOCK_WAIT_SECONDS: "20",
      INSTANCE_ROLE_ARN: `arn:aws:iam::${this.emulator.account}:role/${NODE_ROLE}`,
      POWERTOOLS_LOG_LEVEL: "INFO",
    };
    const logs = join(this.root, "lambda-logs");
    mkdirSync(logs, { recursive: true });
    const define = (name: FunctionName, timeoutMs: number, serial: boolean) => {
      const fn = new LambdaFunction({
        name,
        bundle: bundlePath(name),
        env: { ...env, AWS_LAMBDA_FUNCTION_NAME: `${ASG_NAME}-${name}` },
        timeoutMs,
        serial,
        logFile: join(logs, `${name}.log`),
      });
      this.functions.set(name, fn);
      this.cleanups.push(() => fn.stop());
    };
    define("launch-hook", 60_000, true);
    define("terminate-hook", 60_000, true);
    define("reconciler", 55_000, true);
    define("node-api", 30_000, false);

    const delivery = new EventDelivery({
      launch: this.fn("launch-hook"),
      terminate: this.fn("terminate-hook"),
      onRecord: (record) => {
        const what = `${record.event["detail-type"].replace("EC2 Instance-", "").replace(" Lifecycle Action", "")} ${record.event.detail.EC2InstanceId}`;
        this.timeline.add("control-plane", `${what}: ${record.outcome} ${summarise(record.detail)}`);
      },
    });
    this.deliveryRef = delivery;
    emulator.onLifecycleEvent((event) => delivery.deliver(event));

    const url = new FunctionUrl({
      fn: this.fn("node-api"),
      region: REGION,
      account: ACCOUNT,
      credentials: (accessKeyId) =>
        [...this.nodes.values()].find((n) => n.credentials.accessKeyId === accessKeyId)?.credentials,
    });
    this.nodeApiUrl = await url.start();
    this.cleanups.push(() => url.stop());
    aborted();

    emulator.onInstanceLaunch((instance) => this.launchNode(instance));
    emulator.onInstanceTerminate((instance) => this.nodes.get(instance.id)?.stop());
    this.cleanups.push(() =>
      Promise.all([...this.nodes.values()].map((n) => n.stop(false))).then(() => undefined),
    );

    this.startSampling();
    this.startReconcileSchedule();
    // Stopped first on the way out, so no launch or timeout happens while the rest goes down.
    this.cleanups.push(() => emulator.stop());
    this.timeline.add(
      "step",
      `create group ${ASG_NAME} with ${this.options.capacity ?? this.size} instances`,
    );
    this.groupRef = emulator.createAutoScalingGroup({
      name: ASG_NAME,
      minSize: 0,
      maxSize: this.options.maxSize ?? 9,
      desiredCapacity: this.options.capacity ?? this.size,
      availabilityZones: [`${REGION}a`, `${REGION}b`, `${REGION}c`],
      defaultInstanceWarmupSeconds: this.options.instanceWarmupSeconds ?? 2,
      lifecycleHooks: [
        {
          name: LAUNCH_HOOK,
          transition: "autoscaling:EC2_INSTANCE_LAUNCHING",
          heartbeatTimeoutMs: this.options.launchHeartbeatTimeoutMs ?? 120_000,
          defaultResult: "ABANDON",
        },
        {
          name: TERMINATE_HOOK,
          transition: "autoscaling:EC2_INSTANCE_TERMINATING",
          heartbeatTimeoutMs: this.options.terminateHeartbeatTimeoutMs ?? 60_000,
          defaultResult: "CONTINUE",
        },
      ],
    });
  }

  private async launchNode(instance: EmulatedInstance): Promise<void> {
    if (this.stopping) return;
    const boot = this.bootsToSkip === 0;
    if (!boot) this.bootsToSkip -= 1;
    const node = new SimulatedNode({
      instanceId: instance.id,
      privateIp: instance.privateIp,
      availabilityZone: instance.availabilityZone,
      region: REGION,
      account: ACCOUNT,
      roleName: NODE_ROLE,
      nodeApiUrl: this.nodeApiUrl,
      root: join(this.root, "instances", instance.id),
      etcdEnv: ["ETCD_HEARTBEAT_INTERVAL=100", "ETCD_ELECTION_TIMEOUT=1000"],
      bootDeadlineSeconds: 300,
      boot,
    });
    this.nodes.set(instance.id, node);
    if (!boot) this.timeline.add("fault", `${instance.id} will never boot (its user-data does not run)`);
    await node.start();
  }

  private startSampling(): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy || this.stopping) return;
      busy = true;
      void this.sample().finally(() => {
        busy = false;
      });
    }, 500);
    this.cleanups.push(() => clearInterval(timer));
  }

  private async sample(): Promise<void> {
    if (this.groupRef) this.timeline.sampleInstances(this.group.instances());
    const urls = this.clientUrls();
    if (urls.length === 0) return;
    try {
      this.lastMembers = await memberList(urls);
      this.timeline.sampleMembers(this.lastMembers);
    } catch {
      // No member answers right now (an election, a fault): the next sample sees the change.
    }
  }

  private startReconcileSchedule(): void {
    const period = this.options.reconcileIntervalMs ?? 5000;
    if (period <= 0) return;
    let running = false;
    const timer = setInterval(() => {
      // One pass at a time, as reserved concurrency 1 and a one-minute maxEventAge make it.
      if (running || this.reconcilerPaused || this.stopping) return;
      running = true;
      void this.fn("reconciler")
        .invoke({ source: "aws.events", "detail-type": "Scheduled Event", detail: {} })
        .catch(() => undefined)
        .finally(() => {
          running = false;
        });
    }, period);
    this.cleanups.push(() => clearInterval(timer));
  }

  /** Runs the reconciler now (on demand) and returns its report. */
  reconcile(): Promise<unknown> {
    return this.fn("reconciler").invoke({
      source: "etcd-asg.simulator",
      "detail-type": "On demand",
      detail: {},
    });
  }

  /** Stops (true) or restarts the reconcile schedule, e.g. to let a lost event stay lost. */
  pauseReconciler(paused: boolean): void {
    this.reconcilerPaused = paused;
  }

  /** A real Auto Scaling SDK client on the emulator, as an operator's tooling would point it (for
   * StartInstanceRefresh and the like); the caller destroys it. */
  autoScalingClient(): AutoScalingClient {
    return new AutoScalingClient({
      endpoint: this.emulator.endpoint,
      region: REGION,
      credentials: { accessKeyId: "operator", secretAccessKey: "operator" },
    });
  }

  /** kill -9 of the whole instance (its machine fails): every process of it is gone at once, and its
   * EC2 status checks fail, so the group's health check replaces it after `healthCheckDelayMs`. */
  async killInstance(instanceId: string): Promise<void> {
    const node = this.node(instanceId);
    this.timeline.add("fault", `kill -9 instance ${instanceId} (${node.options.privateIp})`);
    await node.kill();
    this.emulator.failStatusChecks(instanceId);
  }

  /** The next `count` instances launched never run their boot script. */
  skipBoots(count: number): void {
    this.bootsToSkip += count;
  }

  note(text: string): void {
    this.timeline.add("step", text);
  }

  instances(state?: string): EmulatedInstance[] {
    return this.group.instances().filter((i) => state === undefined || i.lifecycleState === state);
  }

  node(instanceId: string): SimulatedNode {
    return required(this.nodes.get(instanceId), `node ${instanceId}`);
  }

  /** Client URLs of the group's instances whose etcd runs. */
  clientUrls(): string[] {
    return this.instances()
      .map((i) => this.nodes.get(i.id))
      .filter((n): n is SimulatedNode => n?.etcdRunning() === true)
      .map((n) => n.clientUrl);
  }

  members(): Promise<EtcdMember[]> {
    return memberList(this.clientUrls());
  }

  /** Deploys a new CLUSTER_SIZE to the four functions (as `cdk deploy` with a new clusterSize). */
  setClusterSize(size: number): void {
    if (![1, 3, 5, 7].includes(size))
      throw new SimulatorError(`cluster size must be 1, 3, 5 or 7, got ${size}`);
    this.note(`deploy CLUSTER_SIZE=${size} to the control plane`);
    for (const fn of this.functions.values()) fn.updateEnvironment({ CLUSTER_SIZE: String(size) });
  }

  setDesiredCapacity(desired: number): void {
    this.note(`set desired capacity ${this.group.desiredCapacity} -> ${desired}`);
    this.group.setDesiredCapacity(desired);
  }

  /** Writes `count` keys with quorum and remembers them for checkKeys(). */
  async writeKeys(prefix: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const key = `${prefix}/${String(i).padStart(3, "0")}`;
      const value = `${prefix}-${i}-${randomUUID().slice(0, 8)}`;
      await putKey(this.clientUrls(), key, value);
      this.written.set(key, value);
    }
    this.note(`wrote ${count} keys under ${prefix}/ with quorum`);
  }

  /** The keys written so far that are missing or changed (linearizable reads). */
  async lostKeys(): Promise<string[]> {
    const lost: string[] = [];
    for (const [key, value] of this.written) {
      if ((await getKey(this.clientUrls(), key)) !== value) lost.push(key);
    }
    return lost;
  }

  timedOutActions(): TimedOutAction[] {
    return this.group.timedOutActions();
  }

  /**
   * Why the system is not converged, or undefined when it is: the group at desired capacity with
   * every instance InService, and etcd's member list exactly those instances as started voters at
   * their own addresses.
   */
  async divergence(): Promise<string | undefined> {
    const instances = this.instances();
    const waiting = instances.filter((i) => i.lifecycleState !== "InService");
    if (waiting.length > 0)
      return `instances not InService: ${waiting.map((i) => `${i.id} ${i.lifecycleState}`).join(", ")}`;
    if (instances.length !== this.group.desiredCapacity) {
      return `${instances.length} instances for desired capacity ${this.group.desiredCapacity}`;
    }
    let members: EtcdMember[];
    try {
      members = await this.members();
    } catch (error) {
      return `etcd does not answer: ${(error as Error).message}`;
    }
    const byName = new Map(members.map((m) => [m.name, m]));
    const problems: string[] = [];
    for (const member of members) {
      const instance = instances.find((i) => i.id === member.name);
      if (instance === undefined)
        problems.push(`member ${member.name || member.id} has no InService instance`);
      else if (member.isLearner) problems.push(`member ${member.name} is still a learner`);
      else if (!member.peerUrls.some((u) => u.includes(`//${instance.privateIp}:`))) {
        problems.push(
          `member ${member.name} has peer URL ${member.peerUrls.join(",")}, not ${instance.privateIp}`,
        );
      }
    }
    for (const instance of instances) {
      if (!byName.has(instance.id)) problems.push(`InService ${instance.id} is not a member`);
    }
    return problems.length > 0 ? problems.join("; ") : undefined;
  }

  /** Waits until divergence() is undefined; throws with the last reason after `timeoutMs`. */
  async waitConverged(timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let reason: string | undefined = "not checked";
    while (Date.now() < deadline) {
      reason = await this.divergence();
      if (reason === undefined) {
        this.note(
          `converged: ${this.instances().length} InService instances = ${this.instances().length} voting members`,
        );
        return;
      }
      await sleep(500);
    }
    throw new SimulatorError(`not converged after ${timeoutMs / 1000}s: ${reason}`);
  }

  /** Waits until `check` holds, polling; throws with `what` after `timeoutMs`. */
  async waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline)
        throw new SimulatorError(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
      await sleep(250);
    }
  }

  /** Stops every process and server; safe to call more than once. Keeps the files when `keepFiles`. */
  stop(keepFiles = false): Promise<void> {
    this.stopping ??= (async () => {
      for (const cleanup of this.cleanups.reverse()) {
        try {
          await withTimeout(Promise.resolve(cleanup()), 15_000);
        } catch (error) {
          this.options.log?.(`cleanup failed: ${String(error)}`);
        }
      }
      if (!keepFiles) rmSync(this.root, { recursive: true, force: true });
    })();
    return this.stopping;
  }
}

/** Rejects when `promise` takes longer than `ms`, so one stuck part cannot keep the rest running. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SimulatorError(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new SimulatorError(`the simulator has no ${what} (not started?)`);
  return value;
}

function summarise(detail: unknown): string {
  if (detail instanceof Error) return `(${detail.message})`;
  if (detail && typeof detail === "object") {
    const d = detail as { status?: string; reason?: string; outcome?: string };
    return `(${[d.status, d.reason ?? d.outcome].filter(Boolean).join(": ")})`;
  }
  return detail === undefined ? "" : `(${String(detail)})`;
}
