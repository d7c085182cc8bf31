// The control-plane test bed: the AWS emulator (Auto Scaling + EC2 wire protocols) with one group
// whose instances get addresses in a reserved 127.0.X.0/24 block, a real DynamoDB-compatible server
// (dynalite) holding the ledger, a local KMS holding the two CA keys, the control plane's runtime
// built from the environment exactly as a Lambda container builds it, and real etcd processes started
// from the configurations the control plane publishes — what the boot script would start, with mutual
// TLS on certificates the control plane issued for a key made here, as the boot script gets them.
// Lifecycle events are captured, not delivered: each test delivers them itself, to duplicate,
// reorder or lose them on purpose.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { createDurability } from "../../lambdas/app/durability-port";
import { forInvocation } from "../../lambdas/app/invocation";
import { handleLifecycleEvent, type LifecycleHandled } from "../../lambdas/app/lifecycle-events";
import type { DurabilityPort, Runtime } from "../../lambdas/app/ports";
import { createRuntime } from "../../lambdas/app/runtime";
import type { EtcdSettings } from "../../lambdas/domain/node-config";
import { isRetryable } from "../../lambdas/errors";
import type { HookKind } from "../../lambdas/events/lifecycle-event";
import { handleNodeApi } from "../../lambdas/node-api/respond";
import type { HttpResponse } from "../../lambdas/node-api/serve";
import type { EmulatedAutoScalingGroup, FinishedLifecycleAction } from "../../local/aws/auto-scaling-group";
import { AwsEmulator } from "../../local/aws/emulator";
import type { LifecycleEvent } from "../../local/aws/types";
import { localDynamoDbClients } from "../../local/dynamodb/clients";
import { createLedgerTable } from "../../local/dynamodb/ledger-table";
import { startLocalDynamoDb } from "../../local/dynamodb/server";
import { newKeyAndCsr } from "../../local/key-and-csr";
import { KmsEmulator } from "../../local/kms/server";
import { type LoopbackBlock, reserveLoopbackBlock } from "./etcd/loopback";
import { EtcdProcess, tail } from "./etcd/process";
import { httpsGet, type TlsCredentials } from "./etcd/tls-cluster";

export const ASG_NAME = "etcd-asg-test";
export const LAUNCH_HOOK = "etcd-asg-launch";
export const TERMINATE_HOOK = "etcd-asg-terminate";
const ACCOUNT = "123456789012";

export interface BedOptions {
  readonly clusterSize?: number;
  readonly strategy?: string;
  /** Instances the group starts with. @default clusterSize */
  readonly capacity?: number;
  readonly maxSize?: number;
  /** @default 120000: long enough that no hook times out unless a test wants it to. */
  readonly heartbeatTimeoutMs?: number;
  readonly env?: Record<string, string>;
}

// The SDK's default credential chain reads these; the local servers accept any.
process.env.AWS_ACCESS_KEY_ID ??= "AKIDLOCALTEST";
process.env.AWS_SECRET_ACCESS_KEY ??= "local-test-secret";

/**
 * Where the bed registers its teardown: a node:test context, or a CLI's own scope. `passed` (set by
 * Node 20.20 before after-hooks run, not yet in @types/node 20) decides whether etcd logs are printed.
 */
export interface BedScope {
  after(fn: () => Promise<void>): void;
  readonly passed?: boolean;
}

export class ControlPlaneBed {
  readonly events: LifecycleEvent[] = [];
  /** The environment the bed's runtime was created from. */
  env: NodeJS.ProcessEnv = {};
  /** The local KMS holding the two CA keys (its call counts show when certificates are signed). */
  kms!: KmsEmulator;
  private readonly etcds = new Map<string, { process: EtcdProcess; logFile: string; clientUrl: string }>();
  private operatorTls: Promise<TlsCredentials & { dir: string }> | undefined;

  private constructor(
    readonly block: LoopbackBlock,
    readonly emulator: AwsEmulator,
    readonly group: EmulatedAutoScalingGroup,
    readonly runtime: Runtime,
    private readonly root: string,
    private readonly stopServers: () => Promise<void>,
  ) {}

  static async start(t: BedScope, options: BedOptions = {}): Promise<ControlPlaneBed> {
    const size = options.clusterSize ?? 3;
    const block = reserveLoopbackBlock();
    const root = mkdtempSync(join(tmpdir(), "etcd-asg-cp-"));
    const dynamo = await startLocalDynamoDb();
    const emulator = new AwsEmulator({ privateIps: { first: block.address(11), last: block.address(60) } });
    const endpoint = await emulator.start();
    const kms = new KmsEmulator({ region: "us-east-1", account: ACCOUNT });
    const kmsEndpoint = await kms.start();
    const caKey = () =>
      kms.createKey({ keySpec: "ECC_NIST_P256", keyUsage: "SIGN_VERIFY", description: "test CA" }).Arn;
    const tableName = `ledger-${randomUUID().slice(0, 8)}`;
    const clients = localDynamoDbClients(dynamo.endpoint);
    await createLedgerTable(clients.client, tableName);
    clients.destroy();
    const env = {
      CLUSTER_NAME: `test-${randomUUID().slice(0, 8)}`,
      ASG_NAME,
      LEDGER_TABLE: tableName,
      LAUNCH_HOOK_NAME: LAUNCH_HOOK,
      TERMINATE_HOOK_NAME: TERMINATE_HOOK,
      CLUSTER_SIZE: String(size),
      JOIN_STRATEGY: options.strategy ?? "replace",
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_AUTO_SCALING: endpoint,
      AWS_ENDPOINT_URL_EC2: endpoint,
      AWS_ENDPOINT_URL_KMS: kmsEndpoint,
      POWERTOOLS_LOG_LEVEL: "WARN",
      INSTANCE_ROLE_ARN: `arn:aws:iam::${ACCOUNT}:role/etcd-node`,
      PEER_CA_KEY_ARN: caKey(),
      CLIENT_CA_KEY_ARN: caKey(),
      ...options.env,
    };
    const runtime = createRuntime(env);
    const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 120_000;
    const capacity = options.capacity ?? size;
    const bed = new ControlPlaneBed(block, emulator, undefined as never, runtime, root, async () => {
      await dynamo.stop();
      await kms.stop();
    });
    bed.env = env;
    bed.kms = kms;
    emulator.onLifecycleEvent((event) => {
      bed.events.push(event);
    });
    const group = emulator.createAutoScalingGroup({
      name: ASG_NAME,
      minSize: 0,
      maxSize: options.maxSize ?? 9,
      desiredCapacity: capacity,
      availabilityZones: ["us-east-1a", "us-east-1b", "us-east-1c"],
      lifecycleHooks: [
        {
          name: LAUNCH_HOOK,
          transition: "autoscaling:EC2_INSTANCE_LAUNCHING",
          heartbeatTimeoutMs,
          defaultResult: "ABANDON",
        },
        {
          name: TERMINATE_HOOK,
          transition: "autoscaling:EC2_INSTANCE_TERMINATING",
          heartbeatTimeoutMs,
          defaultResult: "CONTINUE",
        },
      ],
    });
    (bed as { group: EmulatedAutoScalingGroup }).group = group;
    t.after(() => bed.stop(t));
    return bed;
  }

  /** Lifecycle events captured so far for `kind`, for one instance when given. */
  eventsFor(kind: HookKind, instanceId?: string): LifecycleEvent[] {
    const detailType =
      kind === "launch" ? "EC2 Instance-launch Lifecycle Action" : "EC2 Instance-terminate Lifecycle Action";
    return this.events.filter(
      (e) =>
        e["detail-type"] === detailType &&
        (instanceId === undefined || e.detail.EC2InstanceId === instanceId),
    );
  }

  deliver(kind: HookKind, event: unknown): Promise<LifecycleHandled> {
    return handleLifecycleEvent(this.runtime, kind, event, { awsRequestId: randomUUID() });
  }

  /** A node API call as a Lambda function URL delivers it, signed by `caller`'s instance role. */
  nodeApi(
    route: "config" | "ready",
    instanceId: string,
    caller = instanceId,
    format = "env",
  ): Promise<HttpResponse> {
    return handleNodeApi(
      this.runtime,
      {
        version: "2.0",
        rawPath: `/v1/nodes/${instanceId}/${route}`,
        queryStringParameters: route === "config" ? { format } : undefined,
        requestContext: {
          http: { method: route === "config" ? "GET" : "POST" },
          authorizer: { iam: { userArn: `arn:aws:sts::${ACCOUNT}:assumed-role/etcd-node/${caller}` } },
        },
      },
      { awsRequestId: randomUUID() },
    );
  }

  /** How the lifecycle actions of `instanceId` ended so far, oldest first. */
  endedActions(instanceId: string): Pick<FinishedLifecycleAction, "hookName" | "result" | "by">[] {
    return this.group
      .finishedLifecycleActions()
      .filter((action) => action.instanceId === instanceId)
      .map(({ hookName, result, by }) => ({ hookName, result, by }));
  }

  instanceIds(state?: string): string[] {
    return this.group
      .instances()
      .filter((i) => state === undefined || i.lifecycleState === state)
      .map((i) => i.id);
  }

  /**
   * Starts etcd as the boot script would, from the published settings: a key made here, a CSR for it,
   * the node's peer and server certificates from the control plane, mutual TLS on both ports.
   */
  async startEtcd(instanceId: string, settings: EtcdSettings): Promise<void> {
    const dataDir = join(this.root, instanceId);
    const logFile = join(this.root, `${instanceId}.log`);
    const pki = join(this.root, `${instanceId}.pki`);
    const privateIp = new URL(settings.advertiseClientUrls).hostname;
    mkdirSync(pki, { recursive: true, mode: 0o700 });
    const { keyPem, csrPem } = newKeyAndCsr(instanceId);
    const issued = await this.runtime.pki.issueNode({ instanceId, privateIp }, csrPem);
    const files = {
      "node.key": keyPem,
      "peer.crt": issued.peer.pem,
      "server.crt": issued.server.pem,
      "peer-ca.crt": issued.peerCaPem,
      "client-ca.crt": issued.clientCaPem,
    };
    for (const [name, content] of Object.entries(files))
      writeFileSync(join(pki, name), content, { mode: 0o600 });
    const args = [
      `--name=${settings.name}`,
      `--data-dir=${dataDir}`,
      `--initial-cluster=${settings.initialCluster}`,
      `--initial-cluster-state=${settings.initialClusterState}`,
      `--initial-cluster-token=${settings.initialClusterToken}`,
      `--initial-advertise-peer-urls=${settings.initialAdvertisePeerUrls}`,
      `--listen-peer-urls=${settings.listenPeerUrls}`,
      `--listen-client-urls=${settings.listenClientUrls}`,
      `--advertise-client-urls=${settings.advertiseClientUrls}`,
      `--quota-backend-bytes=${settings.quotaBackendBytes}`,
      `--auto-compaction-mode=${settings.autoCompactionMode}`,
      `--auto-compaction-retention=${settings.autoCompactionRetention}`,
      "--heartbeat-interval=50",
      "--election-timeout=500",
      "--client-cert-auth",
      `--trusted-ca-file=${join(pki, "client-ca.crt")}`,
      `--cert-file=${join(pki, "server.crt")}`,
      `--key-file=${join(pki, "node.key")}`,
      "--peer-client-cert-auth",
      `--peer-trusted-ca-file=${join(pki, "peer-ca.crt")}`,
      `--peer-cert-file=${join(pki, "peer.crt")}`,
      `--peer-key-file=${join(pki, "node.key")}`,
      // On loopback every peer connects from 127.0.0.1, not the IP its certificate names (see
      // test/helpers/etcd/tls-cluster.ts); the CA check stays on.
      "--experimental-peer-skip-client-san-verification",
    ];
    const process = EtcdProcess.start(args, logFile);
    this.etcds.set(instanceId, { process, logFile, clientUrl: settings.advertiseClientUrls });
  }

  /** Waits for etcd's /health over mutual TLS (with the operator's certificate). */
  async waitEtcdHealthy(instanceId: string, timeoutMs = 20_000): Promise<void> {
    const etcd = this.etcds.get(instanceId);
    if (etcd === undefined) throw new Error(`no etcd started for ${instanceId}`);
    const tls = await this.operator();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (etcd.process.exit !== undefined) {
        throw new Error(`etcd ${instanceId} exited (code ${etcd.process.exit.code}) before it was healthy`);
      }
      const answer = await httpsGet(`${etcd.clientUrl}/health`, tls).catch(() => undefined);
      if (answer?.status === 200 && (JSON.parse(answer.body) as { health?: string }).health === "true")
        return;
      await sleep(100);
    }
    throw new Error(`etcd ${instanceId} was not healthy within ${timeoutMs} ms`);
  }

  async killEtcd(instanceId: string): Promise<void> {
    await this.etcds.get(instanceId)?.process.kill();
  }

  /** Runs etcdctl as an operator would (etcd's root user, by a client certificate the control plane
   * issued), against the running members; resolves to its output. */
  async etcdctl(...args: string[]): Promise<string> {
    const endpoints = [...this.etcds.values()]
      .filter((e) => e.process.exit === undefined)
      .map((e) => e.clientUrl);
    const { dir } = await this.operator();
    const { stdout } = await promisify(execFile)(
      "etcdctl",
      [
        `--endpoints=${endpoints.join(",")}`,
        "--command-timeout=10s",
        `--cacert=${join(dir, "ca.crt")}`,
        `--cert=${join(dir, "client.crt")}`,
        `--key=${join(dir, "client.key")}`,
        ...args,
      ],
      // A clean environment: ETCDCTL_* variables of the caller would change what it does.
      { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ETCDCTL_API: "3" } },
    );
    return stdout;
  }

  /** etcd's member list through any running member, once one answers (an election may be under way). */
  async members() {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const urls = [...this.etcds.values()]
        .filter((e) => e.process.exit === undefined)
        .map((e) => e.clientUrl);
      const etcd = this.runtime.etcd(urls);
      try {
        return await etcd.readMembers();
      } catch (error) {
        if (!isRetryable(error) || Date.now() > deadline) throw error;
        await sleep(200);
      } finally {
        etcd.close();
      }
    }
  }

  /** The operator's client certificate (CN root), issued once through the control plane's PKI. */
  operator(): Promise<TlsCredentials & { dir: string }> {
    this.operatorTls ??= (async () => {
      const dir = join(this.root, "operator");
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const { keyPem, csrPem } = newKeyAndCsr("root");
      writeFileSync(join(dir, "client.key"), keyPem, { mode: 0o600 });
      const { certificate, caPem } = await this.runtime.pki.issueUser("root", csrPem, 3600_000);
      writeFileSync(join(dir, "client.crt"), certificate.pem);
      writeFileSync(join(dir, "ca.crt"), caPem);
      return { dir, ca: caPem, cert: certificate.pem, key: keyPem };
    })();
    return this.operatorTls;
  }

  /** The snapshot and recovery port, as the functions that need it create it. */
  durability(): DurabilityPort {
    return createDurability(this.runtime, this.env);
  }

  /** A runtime for one invocation, as a Lambda handler makes it (its own lock-holder name). */
  invocation(): Runtime {
    return forInvocation(this.runtime, { awsRequestId: randomUUID() }, {});
  }

  private async stop(t: BedScope): Promise<void> {
    if (t.passed !== true) {
      for (const [id, etcd] of this.etcds) console.error(`--- etcd ${id}\n${tail(etcd.logFile, 30)}`);
    }
    await Promise.all([...this.etcds.values()].map((e) => e.process.kill()));
    await this.emulator.stop();
    await this.stopServers();
    this.block.release();
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A CloudWatch metric as the embedded metric format carries it in a log line. */
export interface EmittedMetric {
  readonly namespace: string;
  readonly name: string;
  readonly value: number;
  readonly dimensions: Record<string, string>;
}

/**
 * Runs `work` and collects the metrics it emitted: embedded-metric-format lines on stdout, which is
 * how a Lambda's metrics reach CloudWatch. The lines still reach stdout.
 */
export async function emittedMetrics<T>(work: () => Promise<T>): Promise<[T, EmittedMetric[]]> {
  const lines: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    lines.push(String(chunk));
    return Reflect.apply(write, process.stdout, [chunk, ...rest]);
  }) as typeof process.stdout.write;
  let result: T;
  try {
    result = await work();
  } finally {
    process.stdout.write = write;
  }
  return [result, lines.flatMap((chunk) => chunk.split("\n")).flatMap(metricsOf)];
}

function metricsOf(line: string): EmittedMetric[] {
  if (!line.startsWith('{"_aws"')) return [];
  const record = JSON.parse(line) as Record<string, unknown> & {
    _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  };
  return record._aws.CloudWatchMetrics.flatMap((directive) =>
    directive.Metrics.map((metric) => ({
      namespace: directive.Namespace,
      name: metric.Name,
      value: Number(record[metric.Name]),
      dimensions: Object.fromEntries(directive.Dimensions.flat().map((key) => [key, String(record[key])])),
    })),
  );
}

/** Parses an env answer of the node API (`KEY="value"` lines). */
export function parseEnv(body: string): Record<string, string> {
  return Object.fromEntries(
    body
      .trim()
      .split("\n")
      .map((line) => /^([A-Z][A-Z0-9_]*)="(.*)"$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1] ?? "", m[2] ?? ""]),
  );
}

/** The etcd settings in a node API env answer. */
export function settingsOf(env: Record<string, string>): EtcdSettings {
  const get = (key: string) => {
    const value = env[key];
    if (value === undefined) throw new Error(`answer has no ${key}: ${JSON.stringify(env)}`);
    return value;
  };
  return {
    name: get("ETCD_NAME"),
    initialCluster: get("ETCD_INITIAL_CLUSTER"),
    initialClusterState: get("ETCD_INITIAL_CLUSTER_STATE") as "new" | "existing",
    initialClusterToken: get("ETCD_INITIAL_CLUSTER_TOKEN"),
    initialAdvertisePeerUrls: get("ETCD_INITIAL_ADVERTISE_PEER_URLS"),
    listenPeerUrls: get("ETCD_LISTEN_PEER_URLS"),
    listenClientUrls: get("ETCD_LISTEN_CLIENT_URLS"),
    advertiseClientUrls: get("ETCD_ADVERTISE_CLIENT_URLS"),
    dataDir: get("ETCD_DATA_DIR"),
    quotaBackendBytes: Number(get("ETCD_QUOTA_BACKEND_BYTES")),
    autoCompactionMode: get("ETCD_AUTO_COMPACTION_MODE") as "periodic",
    autoCompactionRetention: get("ETCD_AUTO_COMPACTION_RETENTION"),
  };
}
