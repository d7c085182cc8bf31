// The local AWS emulator: one HTTP server on 127.0.0.1 speaking the Auto Scaling and EC2 Query
// protocols (dispatch on Version), so the real AWS SDK v3 clients and the real `aws` CLI work
// against it through endpoint overrides. Holds the emulated groups and instances, delivers
// lifecycle events and instance launch/terminate notifications to subscribers, runs the groups' EC2
// health check, counts calls per action and lets a test inject throttling or server errors. With an
// IAM gate it verifies each call's signature and authorizes it against the caller's policies first,
// answering AccessDenied (UnauthorizedOperation for EC2) as AWS does.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { autoScalingFront } from "../iam/auto-scaling";
import { ec2Front } from "../iam/ec2";
import type { ServiceFront } from "../iam/front";
import type { Gate } from "../iam/gate";
import { AwsApiError } from "./api-error";
import { AUTO_SCALING_ACTIONS, AUTO_SCALING_NAMESPACE, AUTO_SCALING_VERSION } from "./auto-scaling-api";
import { EmulatedAutoScalingGroup, type GroupContext } from "./auto-scaling-group";
import { type Clock, realClock } from "./clock";
import { EC2_ACTIONS, EC2_NAMESPACE, EC2_VERSION } from "./ec2-api";
import { Ec2HealthCheck } from "./ec2-health-check";
import { INSTANCE_REFRESH_ACTIONS } from "./instance-refresh-api";
import { IpPool, type IpRange } from "./ip-pool";
import { LaunchTemplates } from "./launch-templates";
import { parseQueryParams, type QueryParams } from "./query-params";
import type { AutoScalingGroupConfig, EmulatedInstance, LifecycleEvent } from "./types";
import { leaf, node } from "./xml";

export type AwsService = "autoscaling" | "ec2";

export interface ApiCall {
  readonly service: AwsService;
  readonly action: string;
  readonly params: QueryParams;
}

/** A fault to answer a call with instead of serving it. */
export type InjectedFault = "throttling" | "server-error";
export type FaultInjector = (call: ApiCall) => InjectedFault | undefined;

export interface AwsEmulatorOptions {
  /** @default "us-east-1" */
  readonly region?: string;
  /** @default "123456789012" */
  readonly account?: string;
  /** Private IPs handed to instances. @default 127.0.10.1 – 127.0.10.254 */
  readonly privateIps?: IpRange;
  /** EC2 shows no private IP (state `pending`) for this long after launch. @default 0 */
  readonly privateIpDelayMs?: number;
  /** How long after an instance fails its EC2 status checks its group marks it Unhealthy. @default 3000 */
  readonly healthCheckDelayMs?: number;
  /** @default real time and timers */
  readonly clock?: Clock;
  /** Where errors thrown by subscribers go. @default console.error */
  readonly onListenerError?: (error: unknown) => void;
  /**
   * Verifies and authorizes every call before serving it (local/iam/gate.ts).
   * @default none: every call is served, signed or not
   */
  readonly gate?: Gate;
}

type Listener<T> = (value: T) => void | Promise<void>;

export class AwsEmulator {
  readonly region: string;
  readonly account: string;
  /** EC2's launch templates: record a version here (or with the group's launch template) before a
   * group or an instance refresh names it. */
  readonly launchTemplates = new LaunchTemplates();
  private readonly clock: Clock;
  private readonly context: GroupContext;
  private readonly healthCheck: Ec2HealthCheck;
  private readonly groupsByName = new Map<string, EmulatedAutoScalingGroup>();
  /** Every instance ever launched, by ID (EC2 keeps showing terminated ones). */
  private readonly ec2Instances = new Map<string, EmulatedInstance>();
  private readonly lifecycleListeners = new Set<Listener<LifecycleEvent>>();
  private readonly launchListeners = new Set<Listener<EmulatedInstance>>();
  private readonly terminateListeners = new Set<Listener<EmulatedInstance>>();
  private readonly calls = new Map<string, number>();
  private faultInjector: FaultInjector | undefined;
  private server: Server | undefined;
  private readonly onListenerError: (error: unknown) => void;
  private readonly gate:
    | { readonly check: Gate; readonly fronts: Record<AwsService, ServiceFront> }
    | undefined;

  constructor(options: AwsEmulatorOptions = {}) {
    this.region = options.region ?? "us-east-1";
    this.account = options.account ?? "123456789012";
    this.clock = options.clock ?? realClock;
    this.onListenerError =
      options.onListenerError ?? ((error) => console.error("aws emulator listener:", error));
    this.context = {
      region: this.region,
      account: this.account,
      clock: this.clock,
      ipPool: new IpPool(options.privateIps ?? { first: "127.0.10.1", last: "127.0.10.254" }),
      privateIpDelayMs: options.privateIpDelayMs ?? 0,
      launchTemplates: this.launchTemplates,
      registerInstance: (instance) => this.ec2Instances.set(instance.id, instance),
      instanceLaunched: (instance) => this.deliver(this.launchListeners, instance),
      instanceTerminated: (instance) => this.deliver(this.terminateListeners, instance),
      lifecycleActionStarted: (event) => this.deliver(this.lifecycleListeners, event),
    };
    this.healthCheck = new Ec2HealthCheck(this.clock, options.healthCheckDelayMs ?? 3000, (instanceId) =>
      this.groupOfInstance(instanceId),
    );
    const frontOptions = { region: this.region, account: this.account };
    this.gate =
      options.gate === undefined
        ? undefined
        : {
            check: options.gate,
            fronts: {
              autoscaling: autoScalingFront({
                ...frontOptions,
                groupArn: (name) => this.groupsByName.get(name)?.arn,
                groupOfInstance: (instanceId) => this.groupOfInstance(instanceId)?.name,
              }),
              ec2: ec2Front(frontOptions),
            },
          };
  }

  /** Starts serving; resolves to the endpoint URL (`http://127.0.0.1:<port>`). */
  async start(): Promise<string> {
    if (this.server) throw new Error("AwsEmulator already started");
    const server = createServer((request, response) => {
      this.serve(request, response).catch((error: unknown) => {
        response.statusCode = 500;
        response.end(String(error));
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    return this.endpoint;
  }

  get endpoint(): string {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error("AwsEmulator is not started");
    return `http://127.0.0.1:${address.port}`;
  }

  /** Stops serving and cancels every group's timers. */
  async stop(): Promise<void> {
    this.healthCheck.stop();
    for (const group of this.groupsByName.values()) group.stop();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Creates a group and launches its desired capacity. Subscribe first to see the launch events. */
  createAutoScalingGroup(config: AutoScalingGroupConfig): EmulatedAutoScalingGroup {
    if (this.groupsByName.has(config.name)) {
      throw new Error(`Auto Scaling group ${config.name} already exists`);
    }
    const group = new EmulatedAutoScalingGroup(config, this.context);
    this.groupsByName.set(config.name, group);
    return group;
  }

  group(name: string): EmulatedAutoScalingGroup {
    const group = this.groupsByName.get(name);
    if (!group) throw new Error(`no emulated Auto Scaling group named ${name}`);
    return group;
  }

  /** The instance's EC2 status checks fail from now on (its machine is gone): its group's EC2 health
   * check marks it Unhealthy after `healthCheckDelayMs`, once it is InService, and replaces it. */
  failStatusChecks(instanceId: string): void {
    if (!this.ec2Instances.has(instanceId)) throw new Error(`no EC2 instance ${instanceId}`);
    this.healthCheck.statusChecksFailed(instanceId);
  }

  /** Every instance EC2 knows, terminated ones included. */
  instances(): EmulatedInstance[] {
    return [...this.ec2Instances.values()].map((instance) => ({ ...instance }));
  }

  /** EventBridge-shaped lifecycle action events, delivered asynchronously once the instance waits. */
  onLifecycleEvent(listener: Listener<LifecycleEvent>): () => void {
    return subscribe(this.lifecycleListeners, listener);
  }

  /** Called when an instance launches (state Pending): the simulator boots the node here. */
  onInstanceLaunch(listener: Listener<EmulatedInstance>): () => void {
    return subscribe(this.launchListeners, listener);
  }

  /** Called when an instance is Terminated: the simulator stops the node's processes here. */
  onInstanceTerminate(listener: Listener<EmulatedInstance>): () => void {
    return subscribe(this.terminateListeners, listener);
  }

  /** Calls received per action (faulted calls included), e.g. `{ DescribeInstances: 3 }`. */
  callCounts(): Record<string, number> {
    return Object.fromEntries(this.calls);
  }

  resetCallCounts(): void {
    this.calls.clear();
  }

  /** Answers matching calls with a fault instead of serving them; undefined removes the injector. */
  injectFaults(injector: FaultInjector | undefined): void {
    this.faultInjector = injector;
  }

  private groupOfInstance(instanceId: string): EmulatedAutoScalingGroup | undefined {
    return [...this.groupsByName.values()].find((group) =>
      group.instances().some((i) => i.id === instanceId),
    );
  }

  private deliver<T>(listeners: Set<Listener<T>>, value: T): void {
    // Asynchronous like EventBridge: the state change is complete before anyone hears of it.
    setImmediate(() => {
      for (const listener of listeners) {
        Promise.resolve()
          .then(() => listener(value))
          .catch(this.onListenerError);
      }
    });
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const payload = Buffer.concat(chunks);
    const url = new URL(request.url ?? "/", "http://localhost");
    const params = parseQueryParams(payload.toString("utf8"), url.search);
    const service: AwsService = params.get("Version") === EC2_VERSION ? "ec2" : "autoscaling";
    const action = params.get("Action") ?? "";
    this.calls.set(action, (this.calls.get(action) ?? 0) + 1);
    if (this.gate !== undefined) {
      const verdict = await this.gate.check(
        {
          method: request.method ?? "POST",
          url: request.url ?? "/",
          headers: request.headers,
          body: payload,
        },
        this.gate.fronts[service],
      );
      if (!verdict.ok) {
        response.writeHead(verdict.response.status, verdict.response.headers);
        response.end(verdict.response.body);
        return;
      }
    }
    const requestId = randomUUID();
    let status = 200;
    let body: string;
    try {
      const result = this.dispatch({ service, action, params });
      body =
        service === "ec2"
          ? ec2Success(action, result, requestId)
          : queryApiSuccess(action, result, requestId);
    } catch (error) {
      if (!(error instanceof AwsApiError)) throw error;
      status = error.status;
      body = service === "ec2" ? ec2Error(error, requestId) : queryApiError(error, requestId);
    }
    response.writeHead(status, { "content-type": "text/xml", "x-amzn-requestid": requestId });
    response.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
  }

  /** The result body of a call, or an AwsApiError. */
  private dispatch(call: ApiCall): string {
    const fault = this.faultInjector?.(call);
    if (fault) throw faultError(call.service, fault);
    const version = call.params.get("Version");
    if (version !== AUTO_SCALING_VERSION && version !== EC2_VERSION) {
      throw new AwsApiError(
        "InvalidAction",
        `Unsupported Version '${version}': this emulator serves ${AUTO_SCALING_VERSION} (Auto Scaling) and ${EC2_VERSION} (EC2)`,
      );
    }
    if (call.service === "ec2") {
      const handler = EC2_ACTIONS[call.action];
      if (!handler) throw invalidAction(call.action);
      return handler(call.params, {
        instances: () => [...this.ec2Instances.values()],
        now: () => this.clock.now(),
        account: this.account,
      });
    }
    const handler = AUTO_SCALING_ACTIONS[call.action] ?? INSTANCE_REFRESH_ACTIONS[call.action];
    if (!handler) throw invalidAction(call.action);
    return handler(call.params, {
      groups: () => [...this.groupsByName.values()],
      now: () => this.clock.now(),
      launchTemplates: this.launchTemplates,
    });
  }
}

function subscribe<T>(listeners: Set<Listener<T>>, listener: Listener<T>): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function invalidAction(action: string): AwsApiError {
  return new AwsApiError("InvalidAction", `The action ${action} is not valid for this web service.`);
}

/** The codes and statuses each service really answers with when throttling or failing. */
function faultError(service: AwsService, fault: InjectedFault): AwsApiError {
  if (service === "ec2") {
    return fault === "throttling"
      ? new AwsApiError("RequestLimitExceeded", "Request limit exceeded.", 503)
      : new AwsApiError("InternalError", "An internal error has occurred", 500);
  }
  return fault === "throttling"
    ? new AwsApiError("Throttling", "Rate exceeded", 400)
    : new AwsApiError("InternalFailure", "An internal error has occurred", 500);
}

function queryApiSuccess(action: string, result: string, requestId: string): string {
  return `<${action}Response xmlns="${AUTO_SCALING_NAMESPACE}">${node(`${action}Result`, result)}${node(
    "ResponseMetadata",
    leaf("RequestId", requestId),
  )}</${action}Response>`;
}

function queryApiError(error: AwsApiError, requestId: string): string {
  return `<ErrorResponse xmlns="${AUTO_SCALING_NAMESPACE}">${node(
    "Error",
    leaf("Type", error.faultType),
    leaf("Code", error.code),
    leaf("Message", error.message),
  )}${leaf("RequestId", requestId)}</ErrorResponse>`;
}

function ec2Success(action: string, result: string, requestId: string): string {
  return `<${action}Response xmlns="${EC2_NAMESPACE}">${leaf("requestId", requestId)}${result}</${action}Response>`;
}

function ec2Error(error: AwsApiError, requestId: string): string {
  return node(
    "Response",
    node("Errors", node("Error", leaf("Code", error.code), leaf("Message", error.message))),
    leaf("RequestID", requestId),
  );
}
