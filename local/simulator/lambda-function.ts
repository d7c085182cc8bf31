// A Lambda function of the simulator: the function's code from the cloud assembly in a worker
// process (lambda-worker.ts) run by the Node.js of the function's runtime, with the function's
// environment, invoked like Lambda invokes it. With reserved concurrency 1 the invocations queue and
// run one at a time; without it they run at once in the same container (simpler than one container
// each, and the handlers share nothing but module-scope clients). A run past the timeout is ended as
// Lambda ends it: the container is killed and the next invocation starts a fresh one (a cold start).
// So is a container whose memory outgrows the function's MemorySize (Runtime.OutOfMemory); the
// peak is kept for the reports. Faults can crash its containers, hang them until the timeout ends
// them, or run them with their time of day off (chaos's lambda-crash, lambda-timeout, clock-skew).
import { type ChildProcess, fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { workerScript } from "./bundles";
import { lambdaHeapFlags } from "./lambda-runtime";
import { stopProcess, trackProcess, untrackProcess } from "./processes";

export interface LambdaFunctionOptions {
  /** The function's name in the timeline and logs (its `etcd-asg:function` tag). */
  readonly name: string;
  readonly arn: string;
  /** The unzipped code (what Lambda extracts to /var/task). */
  readonly codeDir: string;
  /** The template's Handler, `file.export` relative to codeDir, e.g. `lib/index.handler`. */
  readonly handler: string;
  /** The Node.js binary of the function's runtime. */
  readonly node: string;
  readonly env: Record<string, string>;
  readonly timeoutMs: number;
  /** The function's MemorySize: a container whose resident memory outgrows it is killed. */
  readonly memoryMb: number;
  /** One invocation at a time (reservedConcurrentExecutions: 1). */
  readonly serial: boolean;
  /** The function's log stream goes here. */
  readonly logFile: string;
  /** The UID and GID its containers run under. @default the simulator's */
  readonly runAs?: { readonly uid: number; readonly gid: number };
  /** Told of every invocation once it ended (for the bench's critical-path breakdown). */
  readonly onInvocation?: (record: InvocationRecord) => void;
}

/** One invocation, on the wall clock (epoch ms). */
export interface InvocationRecord {
  /** The function's name (its `etcd-asg:function` tag). */
  readonly fn: string;
  readonly event: unknown;
  /** When it was invoked; it may queue behind another (reserved concurrency 1). */
  readonly invokedAt: number;
  /** When it started: the container was ready (after a cold start, its fork and init). */
  readonly startedAt: number;
  readonly endedAt: number;
  /** ms of the cold start (fork, Node's start, the bundle's init) this invocation waited for; 0 when warm. */
  readonly coldStartMs: number;
  /** ms the function URL took from the request's arrival to the invocation (reading the body, the
   * SigV4 check, the IAM gate); absent for an invocation that came another way. */
  readonly frontMs?: number;
  /** The error's type when it failed. */
  readonly error?: string;
}

/** How often a container's resident memory is compared with the function's MemorySize. */
const MEMORY_CHECK_MS = 100;

/** The function threw (or timed out): what Lambda reports as a function error. */
export class FunctionError extends Error {
  override readonly name = "FunctionError";
  constructor(
    readonly functionName: string,
    readonly errorType: string,
    /** The error's own message, as the function's caller sees it in errorMessage. */
    readonly detail: string,
  ) {
    super(`${functionName}: ${errorType}: ${detail}`);
  }
}

interface Reply {
  readonly id: number;
  readonly result?: unknown;
  readonly error?: { name: string; message: string };
}

interface Container {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly pending: Map<number, (reply: Reply) => void>;
  outOfMemory: boolean;
  /** Stopped by hang(): its invocations end at their timeout. */
  hung: boolean;
}

export class LambdaFunction {
  private container: Container | undefined;
  /** Every container still running, the current one and those retiring after a deploy. */
  private readonly containers = new Set<Container>();
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 0;
  private stopped = false;
  private clockOffsetMs = 0;
  /** Invocations started, for tests and the CLI's summary. */
  invocations = 0;
  /** The highest resident memory any of its containers reached, in MiB (VmHWM). */
  peakMemoryMb = 0;

  constructor(private options: LambdaFunctionOptions) {}

  private get env(): Record<string, string> {
    return this.options.env;
  }

  /**
   * A deploy of the function's code or configuration: invocations from now on run in fresh
   * containers with `options`; the current container finishes what it runs and is then stopped.
   */
  deploy(options: LambdaFunctionOptions): void {
    this.options = options;
    this.retire();
  }

  /**
   * Skews the wall clock of the function's containers by `offsetMs` (0 puts it right), as a Lambda
   * host whose clock is off: containers from now on start under libfaketime with that offset, and the
   * current one finishes what it runs and is then stopped. Timers and the monotonic clock are not
   * skewed, only the time of day.
   */
  skewClock(offsetMs: number): void {
    if (offsetMs !== 0) clockSkewEnv(offsetMs); // a missing libfaketime fails here, not at the cold start
    this.clockOffsetMs = offsetMs;
    this.retire();
  }

  get clockOffset(): number {
    return this.clockOffsetMs;
  }

  /** Invocations from now on run in a fresh container; the current one is stopped once idle. */
  private retire(): void {
    const old = this.container;
    this.container = undefined;
    if (old === undefined) return;
    const retire = setInterval(() => {
      if (old.pending.size > 0 && !this.stopped) return;
      clearInterval(retire);
      this.kill(old);
    }, 100);
  }

  get name(): string {
    return this.options.name;
  }

  /** Runs the handler with `event`; rejects with FunctionError when it throws or times out.
   * `receivedAt`: when the function URL's request arrived, for an invocation through it. */
  invoke(event: unknown, { receivedAt }: { readonly receivedAt?: number } = {}): Promise<unknown> {
    const invokedAt = Date.now();
    const front = receivedAt === undefined ? {} : { frontMs: invokedAt - receivedAt };
    if (!this.options.serial) return this.run(event, invokedAt, front);
    const run = this.queue.then(() => this.run(event, invokedAt, front));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** True while no invocation is queued or running (serial functions only). */
  async idle(): Promise<void> {
    await this.queue;
  }

  /**
   * Kills every container of the function with SIGKILL, as a crashed Lambda container dies: the
   * invocations they run fail with Runtime.ExitError and the next one cold-starts. A container that
   * hang() stopped is left to its timeout: killed, its invocation would end in Runtime.ExitError and
   * never in the Sandbox.Timedout a lambda-timeout episode waits for (seed 17061). Returns how many
   * containers it killed (0 when none was running).
   */
  crash(): number {
    let killed = 0;
    for (const container of this.containers) {
      const pid = container.child.pid;
      if (pid === undefined || container.child.exitCode !== null || container.hung) continue;
      if (this.container === container) this.container = undefined;
      if (container.child.kill("SIGKILL")) killed += 1;
    }
    return killed;
  }

  /**
   * Stops every container of the function that runs an invocation (SIGSTOP), as a handler stuck on
   * a call that never answers: those invocations end at the function's timeout, when the timeout
   * kills the container (Sandbox.Timedout), and invocations from now on start in a fresh one (a cold
   * start), as Lambda gives a concurrent invocation another sandbox. An idle container is left
   * alone: stopped, it would never time out. Returns how many containers it stopped.
   */
  hang(): number {
    let stopped = 0;
    for (const container of this.containers) {
      if (container.child.pid === undefined || container.child.exitCode !== null) continue;
      if (container.pending.size === 0 || container.hung) continue;
      if (this.container === container) this.container = undefined;
      if (!container.child.kill("SIGSTOP")) continue;
      container.hung = true;
      stopped += 1;
    }
    return stopped;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.container = undefined;
    const pids = [...this.containers].map((c) => c.child.pid).filter((pid) => pid !== undefined);
    this.containers.clear();
    await Promise.all(pids.map((pid) => stopProcess(pid, 1000)));
  }

  private async run(
    event: unknown,
    invokedAt: number,
    front: { readonly frontMs?: number },
  ): Promise<unknown> {
    if (this.stopped) throw new FunctionError(this.name, "Stopped", "the simulator is stopping");
    this.invocations += 1;
    const cold = this.container === undefined;
    const readyFrom = Date.now();
    const container = this.container ?? this.coldStart();
    await container.ready;
    const startedAt = Date.now();
    const id = this.nextId++;
    let timer: NodeJS.Timeout | undefined;
    const reply = await new Promise<Reply>((resolve) => {
      container.pending.set(id, resolve);
      timer = setTimeout(() => {
        container.pending.delete(id);
        this.kill(container);
        resolve({
          id,
          error: { name: "Sandbox.Timedout", message: `Task timed out after ${this.options.timeoutMs} ms` },
        });
      }, this.options.timeoutMs);
      container.child.send({
        id,
        event,
        requestId: randomUUID(),
        functionName: this.env.AWS_LAMBDA_FUNCTION_NAME ?? this.name,
        functionArn: this.options.arn,
        timeoutMs: this.options.timeoutMs,
      });
    });
    clearTimeout(timer);
    this.options.onInvocation?.({
      fn: this.name,
      event,
      invokedAt,
      startedAt,
      endedAt: Date.now(),
      coldStartMs: cold ? startedAt - readyFrom : 0,
      ...front,
      ...(reply.error ? { error: reply.error.name } : {}),
    });
    if (reply.error) throw new FunctionError(this.name, reply.error.name, reply.error.message);
    return reply.result;
  }

  private coldStart(): Container {
    const log = openSync(this.options.logFile, "a");
    const child = fork(workerScript(), [this.options.codeDir, this.options.handler], {
      execPath: this.options.node,
      // Not the parent's (tsx's loader): a plain node with Lambda's heap sizing, as Lambda runs it.
      execArgv: lambdaHeapFlags(this.options.memoryMb),
      // A UID without a passwd entry has no home directory, which the SDK asks the OS for: /tmp stands
      // in, writable like the home of Lambda's sandbox user.
      env: {
        ...(this.options.runAs === undefined ? {} : { HOME: "/tmp" }),
        ...this.env,
        ...(this.clockOffsetMs === 0 ? {} : clockSkewEnv(this.clockOffsetMs)),
      },
      stdio: ["ignore", log, log, "ipc"],
      ...this.options.runAs,
    });
    closeSync(log);
    if (child.pid !== undefined) trackProcess(child.pid);
    const pending = new Map<number, (reply: Reply) => void>();
    let container: Container;
    const ready = new Promise<void>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (code) =>
        reject(
          new FunctionError(
            this.name,
            "Runtime.ExitError",
            `the bundle exited with ${code} at init; see ${this.options.logFile}`,
          ),
        ),
      );
      child.on("message", (message: Reply | { ready: true }) => {
        if ("ready" in message) resolve();
        else {
          pending.get(message.id)?.(message);
          pending.delete(message.id);
        }
      });
    });
    const memory = setInterval(() => this.checkMemory(container), MEMORY_CHECK_MS);
    child.once("exit", (code, sig) => {
      clearInterval(memory);
      if (this.container?.child === child) this.container = undefined;
      this.containers.delete(container);
      if (child.pid !== undefined) untrackProcess(child.pid);
      for (const [id, resolve] of pending) {
        resolve({
          id,
          error: container.outOfMemory
            ? { name: "Runtime.OutOfMemory", message: `the container outgrew ${this.options.memoryMb} MB` }
            : { name: "Runtime.ExitError", message: `the container exited (${code ?? sig})` },
        });
      }
      // Answered: a retiring container waits for its map to empty before it is let go.
      pending.clear();
    });
    // Awaited by every invocation; this only keeps a container killed while starting from
    // raising an unhandled rejection when no invocation waits on it.
    ready.catch(() => undefined);
    container = { child, ready, pending, outOfMemory: false, hung: false };
    this.container = container;
    this.containers.add(container);
    return container;
  }

  /** Records the container's peak resident memory, and kills it once that passes MemorySize. */
  private checkMemory(container: Container): void {
    const pid = container.child.pid;
    if (pid === undefined) return;
    let peakKb: number;
    try {
      peakKb = Number(/^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
    } catch {
      return; // exited between two checks
    }
    this.peakMemoryMb = Math.max(this.peakMemoryMb, Math.ceil(peakKb / 1024));
    if (peakKb > this.options.memoryMb * 1024 && !container.outOfMemory) {
      container.outOfMemory = true;
      this.kill(container);
    }
  }

  private kill(container: Container): void {
    if (this.container === container) this.container = undefined;
    if (container.child.pid !== undefined) void stopProcess(container.child.pid, 0);
  }
}

/** Debian's libfaketime (package libfaketime), which the clock-skew fault preloads. */
const LIBFAKETIME = `/usr/lib/${process.arch === "arm64" ? "aarch64" : "x86_64"}-linux-gnu/faketime/libfaketime.so.1`;

export class ClockSkewUnavailableError extends Error {
  override readonly name = "ClockSkewUnavailableError";
}

/** The environment that runs a process `offsetMs` off the real time of day. */
function clockSkewEnv(offsetMs: number): Record<string, string> {
  if (!Number.isInteger(offsetMs)) {
    throw new RangeError(`a clock offset is a whole number of milliseconds, got ${offsetMs}`);
  }
  if (!existsSync(LIBFAKETIME)) {
    throw new ClockSkewUnavailableError(
      `${LIBFAKETIME} is missing: install Debian's libfaketime (scripts/install --test) to skew a function's clock`,
    );
  }
  const seconds = (Math.abs(offsetMs) / 1000).toFixed(3);
  return {
    LD_PRELOAD: LIBFAKETIME,
    FAKETIME: `${offsetMs < 0 ? "-" : "+"}${seconds}s`,
    FAKETIME_DONT_FAKE_MONOTONIC: "1",
  };
}
