// The local simulator: the stack `cdk deploy` would create, run on one machine from its synthesized
// template. The template says what runs (local/stack/): the control-plane functions — their code
// from the cloud assembly, run on the Node.js of their runtime with their role's credentials —, the
// rules that deliver lifecycle events and the schedule, the function URL, the ledger table, and the
// group with its hooks and launch template, whose user data each simulated instance runs (it fetches
// the real boot script from the asset bucket, which starts a real etcd). Around them: dynalite for
// DynamoDB, s3rver for S3, the AWS emulator for Auto Scaling and EC2, an IMDS per instance.
// Everything listens on 127.0.0.0/8 and everything started is stopped by stop() — or, if the process
// dies first (an exit, or a signal nobody else handles), by the exit hook in processes.ts. Durations the template sets may be shortened only by
// the explicit overrides of options.ts, which start() prints.
import { randomUUID } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { S3Client } from "@aws-sdk/client-s3";
import { controlPlaneIdentity, nodeIdentity, runAs, uidForAddress } from "../../chaos/network/identity";
import type { LocalState } from "../../cli/local-state";
import type { EmulatedAutoScalingGroup, TimedOutAction } from "../aws/auto-scaling-group";
import type { AwsEmulator } from "../aws/emulator";
import type { GroupUpdateResult } from "../aws/stack-update";
import type { EmulatedInstance } from "../aws/types";
import { localDynamoDbClients } from "../dynamodb/clients";
import { createLedgerTable } from "../dynamodb/ledger-table";
import type { DynamoDbOutage } from "../dynamodb/outage";
import type { PseudoParameters } from "../stack/intrinsics";
import { readStack, type StackModel } from "../stack/model";
import { synthesize } from "../stack/synth";
import { loadTemplate } from "../stack/template";
import { type AddressBlock, reserveAddressBlock } from "./address-block";
import { createBuckets, publishFileAssets } from "./assets";
import { StackDeployment } from "./deployment";
import { type EtcdMember, getKey, memberList, putKey } from "./etcd-client";
import type { EventDelivery } from "./event-delivery";
import type { FunctionUrlTarget } from "./function-url";
import type { InvocationRecord, LambdaFunction } from "./lambda-function";
import { SimulatedNode } from "./node";
import { type EtcdTls, OperatorIdentity } from "./operator-identity";
import { type Overrides, overridesOf, type SimulatorOptions } from "./options";
import { type LocalServices, ROUTE53_SYNC_DELAY_MS, startServices } from "./services";
import { SimulatorIam } from "./simulator-iam";
import { describeStart } from "./start-report";
import { deliveryText, Timeline, type TimelineEntry } from "./timeline";

export type { SimulatorOptions } from "./options";

const REGION = "us-east-1";
const ACCOUNT = "123456789012";

export class SimulatorError extends Error {
  override readonly name = "SimulatorError";
}

export class Simulator {
  readonly timeline: Timeline;
  readonly nodes = new Map<string, SimulatedNode>();
  /** Keys written with quorum, and their values: every one must stay readable. */
  readonly written = new Map<string, string>();
  readonly overrides: Overrides;
  readonly iam = new SimulatorIam(ACCOUNT);
  private readonly cleanups: Array<() => Promise<void> | void> = [];
  private deploymentRef: StackDeployment | undefined;
  private servicesRef: LocalServices | undefined;
  private bootsToSkip = 0;
  private tracesToTake = 0;
  private readonly invocationListeners = new Set<(record: InvocationRecord) => void>();
  private stopping: Promise<void> | undefined;
  private lastMembers: EtcdMember[] = [];
  /** The seed of the stack's generated names: the same for every deploy of this simulator. */
  private readonly seed = randomUUID();
  private endpoints: Record<string, string> = {};
  private functionUrlEndpoint: string | undefined;
  private operatorIdentity: OperatorIdentity | undefined;
  private clusterSize: number;
  /** The CDK context the app is synthesized with, beyond the cluster size (redeploy() changes it). */
  private context: Readonly<Record<string, string>>;

  private constructor(
    readonly options: SimulatorOptions,
    readonly root: string,
    private readonly block: AddressBlock,
  ) {
    const log = options.log ?? (() => {});
    this.timeline = new Timeline((entry: TimelineEntry) => log(`${entry.kind}: ${entry.text}`));
    this.overrides = overridesOf(options);
    this.clusterSize = options.size ?? 3;
    this.context = options.context ?? {};
  }

  /** The cluster size the simulator started with. */
  get size(): number {
    return this.options.size ?? 3;
  }

  /** The cluster size of the template deployed last. */
  get deployedSize(): number {
    return this.clusterSize;
  }

  get emulator(): AwsEmulator {
    return this.services.emulator;
  }

  /** The ledger's DynamoDB endpoint refusing every request while on (chaos's ledger-outage). */
  get ledgerOutage(): DynamoDbOutage {
    return this.services.ledgerOutage;
  }

  get deployment(): StackDeployment {
    return required(this.deploymentRef, "deployment");
  }

  /** The deployed stack, as the simulator read it from the template. */
  get stack(): StackModel {
    return this.deployment.stack;
  }

  get group(): EmulatedAutoScalingGroup {
    return this.deployment.group;
  }

  get events(): EventDelivery {
    return this.deployment.delivery;
  }

  /** The node API's function URL (what the user data calls). */
  get nodeApiUrl(): string {
    return required(this.functionUrlEndpoint, "function URL");
  }

  /** The name of the stack's lifecycle hook for launches or terminations. */
  hookName(transition: "launch" | "terminate"): string {
    const wanted =
      transition === "launch" ? "autoscaling:EC2_INSTANCE_LAUNCHING" : "autoscaling:EC2_INSTANCE_TERMINATING";
    return required(
      this.stack.group.hooks.find((hook) => hook.transition === wanted),
      `${transition} hook`,
    ).name;
  }

  /** The control-plane function tagged `etcd-asg:function = name`. */
  fn(name: string): LambdaFunction {
    return required(this.deployment.fn(name), `function ${name}`);
  }

  /** Synthesizes (or takes) the template, starts everything and launches the group's instances. */
  static async start(options: SimulatorOptions = {}): Promise<Simulator> {
    const size = options.size ?? 3;
    if (![3, 5, 7].includes(size))
      throw new SimulatorError(`size must be 3, 5 or 7 (the construct's sizes), got ${size}`);
    const bootDelayMs = options.bootDelayMs ?? 0;
    if (!Number.isFinite(bootDelayMs) || bootDelayMs < 0)
      throw new SimulatorError(`bootDelayMs must be a non-negative number of ms, got ${bootDelayMs}`);
    const block = reserveAddressBlock();
    const root = mkdtempSync(join(tmpdir(), "etcd-asg-sim-"));
    // Each node's etcd runs under its own UID and must reach its instance's folder.
    chmodSync(root, 0o711);
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

  /** Reads the template to deploy: the given one, or the app synthesized with this size. */
  private async readTemplate(size: number): Promise<StackModel> {
    const log = this.options.log ?? (() => {});
    const given = this.options.template;
    const { templatePath, assetsDir } =
      given === undefined
        ? await synthesize({ "etcd-asg:clusterSize": String(size), ...this.context }, log)
        : { templatePath: given, assetsDir: this.options.assetsDir ?? dirname(given) };
    const stackName = basename(templatePath).replace(/\.template\.json$/, "");
    const pseudo: PseudoParameters = {
      accountId: ACCOUNT,
      region: REGION,
      partition: "aws",
      stackName,
      stackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${stackName}/${this.seed}`,
      urlSuffix: "amazonaws.com",
      availabilityZones: [`${REGION}a`, `${REGION}b`, `${REGION}c`],
    };
    return readStack(loadTemplate(templatePath), {
      pseudo,
      seed: this.seed,
      assetsDir,
      // The one function URL the stack has is served locally; its GetAtt resolves to it.
      live: (_logicalId, attribute) => (attribute === "FunctionUrl" ? this.functionUrlEndpoint : undefined),
    });
  }

  /** Starts the parts one by one, each registered for stop() as soon as it runs; gives up between
   * two parts once the start is aborted. */
  private async boot(): Promise<void> {
    const log = this.options.log ?? (() => {});
    const aborted = () => this.options.signal?.throwIfAborted();
    this.cleanups.push(() => this.block.release());
    aborted();
    const services = await startServices({
      region: REGION,
      account: ACCOUNT,
      gate: this.iam.gate,
      block: this.block,
      healthCheckDelayMs: this.overrides.healthCheckDelayMs,
      log,
      register: (stop) => this.cleanups.push(stop),
      aborted,
      urlTarget: () => this.urlTarget(),
      functions: () =>
        [...(this.deploymentRef?.functions.values() ?? [])].map(({ model, fn }) => ({
          name: model.name,
          arn: model.arn,
          fn,
        })),
      stack: () => {
        const stack = this.deploymentRef?.stack;
        return (
          stack && {
            stackName: stack.stackName,
            stackId: stack.context.pseudo.stackId,
            outputs: stack.outputs,
          }
        );
      },
    });
    this.servicesRef = services;
    this.operatorIdentity = new OperatorIdentity({
      lambdaEndpoint: services.lambdaApi,
      region: REGION,
      credentials: this.iam.operator,
      functionName: () =>
        required(this.deploymentRef?.functions.get("client-cert"), "client-cert function").model.name,
    });
    const { emulator } = services;
    this.endpoints = { ...services.endpoints };
    this.functionUrlEndpoint = services.functionUrl;

    const stack = await this.readTemplate(this.clusterSize);
    aborted();
    for (const line of describeStart(stack, this.overrides, this.options)) log(line);
    const [dnsHost, dnsPort] = services.dns.split(":");
    for (const zone of stack.hostedZones) {
      log(
        `hosted zone ${zone.name} (${zone.id}) answered by the DNS server at ${services.dns}, changes INSYNC after ${ROUTE53_SYNC_DELAY_MS} ms ` +
          `(AWS: seconds): dig @${dnsHost} -p ${dnsPort} ${stack.outputs.ClientDnsName ?? zone.name}`,
      );
    }
    this.iam.deploy(stack);
    this.createKeys(stack);
    this.createZones(stack);

    const clients = localDynamoDbClients(
      services.endpoints.AWS_ENDPOINT_URL_DYNAMODB ?? "",
      this.iam.operator,
    );
    await createLedgerTable(clients.client, stack.table.name, stack.table);
    clients.destroy();
    const s3Client = this.s3Client();
    await publishFileAssets(s3Client, stack.assetsDir, stack.stackName, stack.context.pseudo);
    await createBuckets(s3Client, stack.buckets);
    s3Client.destroy();
    aborted();

    const logDir = join(this.root, "lambda-logs");
    mkdirSync(logDir, { recursive: true });
    const controlPlane = controlPlaneIdentity(this.block.prefix);
    const register = this.options.registerIdentity;
    if (register !== undefined) await register(controlPlane);
    emulator.onInstanceLaunch((instance) => this.launchNode(instance));
    emulator.onInstanceTerminate((instance) => this.nodes.get(instance.id)?.stop());
    this.cleanups.push(() =>
      Promise.all([...this.nodes.values()].map((n) => n.stop(false))).then(() => undefined),
    );
    this.startSampling();
    this.timeline.add(
      "step",
      `deploy ${stack.stackName}: group ${stack.group.name} with ${this.options.capacity ?? stack.group.desiredCapacity ?? stack.group.minSize} instances`,
    );
    const deployment = new StackDeployment(stack, {
      emulator,
      host: {
        endpoints: this.endpoints,
        credentials: (roleArn, session) => this.iam.assumeRole(roleArn, session),
        logDir,
        onInvocation: (record) => {
          for (const listener of this.invocationListeners) listener(record);
        },
        runAs: register === undefined ? undefined : runAs(controlPlane),
      },
      overrides: this.overrides,
      capacity: this.options.capacity,
      maxSize: this.options.maxSize,
      onRecord: (record) => {
        const kind = record.event["detail-type"]
          .replace("EC2 Instance-", "")
          .replace(" Lifecycle Action", "");
        const delivered = deliveryText(
          kind,
          record.event.detail.EC2InstanceId,
          record.target,
          record.outcome,
        );
        this.timeline.add("control-plane", `${delivered} ${summarise(record.detail)}`);
      },
    });
    this.deploymentRef = deployment;
    // The operator gets its etcd certificate once the stack is deployed, before it reaches for etcd
    // (as the bench's floor has its certificates before its clock starts): the client-cert
    // function's cold start and signature run while the instances boot, not beside the members'
    // first election on the machine's cores. A failure is not kept: the next etcdTls() asks again.
    this.etcdTls().catch(() => undefined);
    this.cleanups.push(() => deployment.stop());
    // Stopped first on the way out, so no launch or timeout happens while the rest goes down.
    this.cleanups.push(() => emulator.stop());
  }

  /** The function the URL invokes, and how it authenticates callers. */
  private urlTarget(): FunctionUrlTarget | undefined {
    const url = this.deploymentRef?.stack.functionUrls[0];
    const fn = [...(this.deploymentRef?.functions.values() ?? [])].find(
      (f) => f.model.arn === url?.functionArn,
    )?.fn;
    return url === undefined || fn === undefined
      ? undefined
      : { fn, functionArn: url.functionArn, authType: url.authType };
  }

  /** The template's KMS keys, with the IDs and policies the template gives them; a later deploy adds
   * the keys it declares anew. */
  private createKeys(stack: StackModel): void {
    const { kms } = this.services;
    for (const key of stack.kmsKeys) {
      if (kms.keyArn(key.keyId) !== undefined) continue;
      kms.createKey({
        keyId: key.keyId,
        keySpec: key.keySpec as "ECC_NIST_P256",
        keyUsage: key.keyUsage as "SIGN_VERIFY",
        ...(key.description === undefined ? {} : { description: key.description }),
        ...(key.policy === undefined ? {} : { policy: JSON.stringify(key.policy) }),
      });
    }
  }

  /** The template's hosted zones, with the IDs the template's Refs resolve to; a later deploy adds
   * the zones it declares anew. */
  private createZones(stack: StackModel): void {
    const { store } = this.services.route53;
    for (const zone of stack.hostedZones) {
      if (store.hasHostedZone(zone.id)) continue;
      store.createHostedZone({
        id: zone.id,
        name: zone.name,
        callerReference: `${stack.stackName}-${zone.logicalId}`,
        vpc: zone.vpcId === undefined ? undefined : { region: stack.region, id: zone.vpcId },
        privateZone: zone.vpcId !== undefined,
        comment: undefined,
      });
    }
  }

  get services(): LocalServices {
    return required(this.servicesRef, "local services");
  }

  /** What `etcd-asg --local` reads to reach this simulator as its operator (cli/local-state.ts). */
  operatorState(): LocalState {
    return {
      stackName: this.stack.stackName,
      region: REGION,
      credentials: this.iam.operator,
      endpoints: { cloudformation: this.services.cloudFormationApi, lambda: this.services.lambdaApi },
    };
  }

  /** An S3 client of the operator's (for the asset bucket and the tests). The caller destroys it. */
  s3Client(): S3Client {
    return new S3Client({
      endpoint: this.services.s3,
      region: REGION,
      forcePathStyle: true,
      credentials: this.iam.operator,
    });
  }

  private async launchNode(instance: EmulatedInstance): Promise<void> {
    if (this.stopping) return;
    const boot = this.bootsToSkip === 0;
    if (!boot) this.bootsToSkip -= 1;
    const { stack } = this;
    const node = new SimulatedNode({
      instanceId: instance.id,
      privateIp: instance.privateIp,
      availabilityZone: instance.availabilityZone,
      region: REGION,
      account: ACCOUNT,
      roleName: stack.instanceRoleArn.split("/").at(-1) ?? stack.instanceRoleArn,
      // EC2 names the instance role's session after the instance.
      credentials: this.iam.assumeRole(stack.instanceRoleArn, instance.id),
      // The user data of the launch template version it was launched from: a roll's replacement
      // runs the new one, a rollback's the old one.
      userData: this.deployment.userDataOf(instance.launchTemplate),
      s3Endpoint: this.services.s3,
      root: join(this.root, "instances", instance.id),
      etcdEnv: [
        "ETCD_HEARTBEAT_INTERVAL=100",
        "ETCD_ELECTION_TIMEOUT=1000",
        // etcd 3.4 checks that a peer connects from an IP its certificate names; on loopback every
        // connection comes from 127.0.0.1 (on EC2, from the instance's IP). The CA check stays on.
        "ETCD_EXPERIMENTAL_PEER_SKIP_CLIENT_SAN_VERIFICATION=true",
      ],
      // Its own UID, as a dedicated user on its own machine (and what network faults tell apart).
      etcdUid: uidForAddress(instance.privateIp),
      bootDeadlineSeconds: 300,
      boot,
      bootDelayMs: this.options.bootDelayMs ?? 0,
      traceProcesses: this.takeTrace(),
      ...(this.options.dataVolumeBytes === undefined
        ? {}
        : { dataVolumeBytes: this.options.dataVolumeBytes }),
      onUserDataStart: () => this.timeline.add("instance", `${instance.id} user data starts`),
    });
    this.nodes.set(instance.id, node);
    await this.options.registerIdentity?.(nodeIdentity(instance.id, instance.privateIp));
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
    if (this.deploymentRef) this.timeline.sampleInstances(this.group.instances());
    const urls = this.clientUrls();
    if (urls.length === 0) return;
    try {
      this.lastMembers = await memberList(urls, await this.etcdTls());
      this.timeline.sampleMembers(this.lastMembers);
    } catch {
      // No member answers right now (an election, a fault): the next sample sees the change.
    }
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
    this.deployment.schedulePaused = paused;
  }

  /** A real Auto Scaling SDK client on the emulator, as an operator's tooling would point it (for
   * StartInstanceRefresh and the like); the caller destroys it. */
  autoScalingClient(): AutoScalingClient {
    return new AutoScalingClient({
      endpoint: this.emulator.endpoint,
      region: REGION,
      credentials: this.iam.operator,
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

  /** The next `count` instances launched run their user data under strace, which counts the
   * processes it spawns (SimulatedNode.processesSpawned()) and slows each spawn a little. */
  traceProcesses(count: number): void {
    this.tracesToTake += count;
  }

  private takeTrace(): boolean {
    if (this.tracesToTake === 0) return false;
    this.tracesToTake -= 1;
    return true;
  }

  /** The next `count` instances launched never run their boot script. */
  skipBoots(count: number): void {
    this.bootsToSkip += count;
  }

  /** Calls `listener` with every function invocation once it ended, until the returned function is called. */
  onInvocation(listener: (record: InvocationRecord) => void): () => void {
    this.invocationListeners.add(listener);
    return () => this.invocationListeners.delete(listener);
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
    return this.etcdTls().then((tls) => memberList(this.clientUrls(), tls));
  }

  /** The operator's etcd client certificate (etcd's root user), from the stack's client-cert function. */
  etcdTls(): Promise<EtcdTls> {
    return required(this.operatorIdentity, "operator identity").tls();
  }

  /** False when the simulator runs a given template: another cluster size needs another synthesis. */
  get resizable(): boolean {
    return this.options.template === undefined;
  }

  /**
   * `cdk deploy -c etcd-asg:clusterSize=<size>`: the app synthesized with the new size, deployed onto
   * the running stack (the functions' CLUSTER_SIZE, the group's MinSize and MaxSize, which move its
   * desired capacity).
   */
  async setClusterSize(size: number): Promise<void> {
    if (![3, 5, 7].includes(size)) throw new SimulatorError(`cluster size must be 3, 5 or 7, got ${size}`);
    if (this.options.template !== undefined) {
      throw new SimulatorError("a simulator started with a given template cannot synthesize another size");
    }
    const stack = await this.readTemplate(size);
    this.note(
      `deploy clusterSize=${size}: CLUSTER_SIZE=${size}, group MinSize/MaxSize ${stack.group.minSize}/${stack.group.maxSize}`,
    );
    this.clusterSize = size;
    await this.updateStack(stack);
  }

  /**
   * `cdk deploy -c KEY=VALUE...`: the app synthesized with this context on top of the current one,
   * deployed onto the running stack as CloudFormation updates it. A changed launch template rolls
   * the nodes (the group's UpdatePolicy) and the update waits for the roll; `boundMs` stands for an
   * alarm that fails a roll making no progress. Resolves with how the update ended.
   */
  async redeploy(context: Readonly<Record<string, string>>, boundMs?: number): Promise<GroupUpdateResult> {
    if (this.options.template !== undefined) {
      throw new SimulatorError("a simulator started with a given template cannot synthesize another one");
    }
    const previous = this.context;
    this.context = { ...previous, ...context };
    const stack = await this.readTemplate(this.clusterSize);
    const before = this.group.launchTemplate;
    this.note(
      `deploy ${Object.entries(context)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ")}`,
    );
    const result = await this.updateStack(stack, boundMs);
    if (result.status !== "UPDATE_COMPLETE") this.context = previous;
    const after = this.group.launchTemplate;
    this.timeline.add(
      "step",
      `stack update ${result.status}: launch template version ${before?.version} -> ${after?.version}, ` +
        `${result.refreshes.length} instance refresh(es)${result.reason === undefined ? "" : ` (${result.reason})`}`,
    );
    return result;
  }

  private async updateStack(stack: StackModel, boundMs?: number): Promise<GroupUpdateResult> {
    // As cdk deploy does, the new assembly's assets are published before the stack is updated.
    const s3 = this.s3Client();
    await publishFileAssets(s3, stack.assetsDir, stack.stackName, stack.context.pseudo);
    await createBuckets(s3, stack.buckets);
    s3.destroy();
    this.iam.deploy(stack);
    this.createKeys(stack);
    this.createZones(stack);
    return this.deployment.update(stack, boundMs);
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
      await putKey(this.clientUrls(), await this.etcdTls(), key, value);
      this.written.set(key, value);
    }
    this.note(`wrote ${count} keys under ${prefix}/ with quorum`);
  }

  /** The keys written so far that are missing or changed (linearizable reads). */
  async lostKeys(): Promise<string[]> {
    const lost: string[] = [];
    for (const [key, value] of this.written) {
      if ((await getKey(this.clientUrls(), await this.etcdTls(), key)) !== value) lost.push(key);
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
