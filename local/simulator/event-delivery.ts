// EventBridge and Lambda's asynchronous invocation, as the template configures them. Each event the
// AWS emulator emits goes to every enabled rule whose EventPattern matches it (as EventBridge
// matches), and to each of the rule's targets that is a function of the stack and lets the rule
// invoke it (an AWS::Lambda::Permission for events.amazonaws.com with the rule's ARN as source). The
// function runs the event asynchronously: a function error is retried the function's
// MaximumRetryAttempts times, an event older than its MaximumEventAgeInSeconds is not run, and an
// event that is given up on goes to the function's dead-letter queue (a list here). Scheduled rules
// send "Scheduled Event"s the same way. A test can inject what EventBridge and async invocation may
// do on their own: drop an event, deliver it more than once, or delay it (which reorders it).
import { randomUUID } from "node:crypto";
import type { LifecycleEvent } from "../aws/types";
import { compileEventPattern, type EventPattern, InvalidEventPatternError } from "../eventbridge/pattern";
import type { FunctionModel } from "../stack/functions";
import type { RuleModel } from "../stack/rules";
import { FunctionError, type LambdaFunction } from "./lambda-function";

/** What happens to one event: delivered after `delayMs`, `copies` times, or not at all. */
export interface DeliveryPlan {
  readonly drop?: boolean;
  /** @default 1 */
  readonly copies?: number;
  /** @default 0 */
  readonly delayMs?: number;
}

export type DeliveryFaults = (event: LifecycleEvent) => DeliveryPlan | undefined;

export interface DeliveryRecord {
  readonly event: LifecycleEvent;
  readonly rule: string;
  /** The target function's role (its `etcd-asg:function` tag). */
  readonly target: string;
  readonly outcome: "delivered" | "dropped" | "failed" | "expired";
  /** The handler's result on success, the last error otherwise. */
  readonly detail: unknown;
}

/** A message in a dead-letter queue: the event given up on and why. */
export interface DeadLetter {
  readonly queueArn: string;
  readonly event: unknown;
  readonly error: string;
}

export interface EventDeliveryOptions {
  readonly rules: readonly RuleModel[];
  /** The stack's functions with their running counterparts. */
  readonly functions: ReadonlyArray<{ readonly model: FunctionModel; readonly fn: LambdaFunction }>;
  readonly account: string;
  readonly region: string;
  /** Waits before async-invoke retries (Lambda waits about 1 and 2 minutes). */
  readonly retryDelaysMs: readonly number[];
  /** Event ages count this many times faster than the clock (the simulator's time compression). */
  readonly ageScale: number;
  readonly onRecord?: (record: DeliveryRecord) => void;
}

export class EventDelivery {
  private faults: DeliveryFaults | undefined;
  private inFlight = 0;
  readonly records: DeliveryRecord[] = [];
  readonly deadLetters: DeadLetter[] = [];

  private patterns = new Map<string, EventPattern>();

  constructor(private options: EventDeliveryOptions) {
    this.patterns = compilePatterns(options.rules);
  }

  /** A deploy changed the rules or the functions: events from now on follow the new ones. */
  redeploy(options: EventDeliveryOptions): void {
    this.patterns = compilePatterns(options.rules);
    this.options = options;
  }

  /** Sets (or clears, with undefined) the fault plan applied to every lifecycle event from now on. */
  injectFaults(faults: DeliveryFaults | undefined): void {
    this.faults = faults;
  }

  /** Events accepted but not yet handled (delays and retries included). */
  get pending(): number {
    return this.inFlight;
  }

  /** The rules whose pattern matches `event`, and their targets (with a target's constant Input, if any). */
  routes(
    event: unknown,
  ): Array<{ rule: RuleModel; target: LambdaFunction; model: FunctionModel; input: string | undefined }> {
    return this.options.rules
      .filter((rule) => rule.enabled && this.patterns.get(rule.logicalId)?.matches(event) === true)
      .flatMap((rule) => this.targets(rule).map((target) => ({ rule, ...target })));
  }

  /** A lifecycle event from the emulator: to every matching rule's targets, through the fault plan. */
  deliver(event: LifecycleEvent): void {
    const plan = this.faults?.(event) ?? {};
    for (const { rule, target, model, input } of this.routes(event)) {
      if (plan.drop) {
        this.record(rule, {
          event,
          rule: rule.name,
          target: model.role,
          outcome: "dropped",
          detail: "dropped by the injected fault plan",
        });
        continue;
      }
      for (let copy = 0; copy < (plan.copies ?? 1); copy++) {
        void this.invokeAsync(rule, event, sent(event, input), target, model, plan.delayMs ?? 0);
      }
    }
  }

  /** One tick of a scheduled rule: a "Scheduled Event" to each of its targets, or the target's constant
   * Input in its place as EventBridge sends it; resolves once they ran. */
  schedule(rule: RuleModel): Promise<void> {
    const event = {
      version: "0",
      id: randomUUID(),
      "detail-type": "Scheduled Event",
      source: "aws.events",
      account: this.options.account,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      region: this.options.region,
      resources: [rule.arn],
      detail: {},
    };
    return Promise.all(
      this.targets(rule).map(({ target, model, input }) =>
        this.invokeAsync(rule, event, sent(event, input), target, model, 0),
      ),
    ).then(() => undefined);
  }

  private targets(
    rule: RuleModel,
  ): Array<{ target: LambdaFunction; model: FunctionModel; input: string | undefined }> {
    return rule.targets.flatMap((target) => {
      const found = this.options.functions.find((f) => f.model.arn === target.arn);
      if (found === undefined) return [];
      const allowed = found.model.permissions.some(
        (p) =>
          p.principal === "events.amazonaws.com" &&
          (p.action === "lambda:InvokeFunction" || p.action === "lambda:*") &&
          (p.sourceArn === undefined || p.sourceArn === rule.arn),
      );
      // EventBridge cannot invoke a function whose policy does not let the rule: the event is lost.
      return allowed ? [{ target: found.fn, model: found.model, input: target.input }] : [];
    });
  }

  /** Resolves once the event ran (or was given up on). `event` is what matched the rule (and is
   * recorded), `payload` what the target is sent. */
  private invokeAsync(
    rule: RuleModel,
    event: unknown,
    payload: unknown,
    target: LambdaFunction,
    model: FunctionModel,
    delayMs: number,
  ): Promise<void> {
    this.inFlight += 1;
    const accepted = Date.now();
    return new Promise((resolve) => {
      setTimeout(() => {
        void this.run(rule, event, payload, target, model, accepted).finally(() => {
          this.inFlight -= 1;
          resolve();
        });
      }, delayMs);
    });
  }

  private async run(
    rule: RuleModel,
    event: unknown,
    payload: unknown,
    target: LambdaFunction,
    model: FunctionModel,
    accepted: number,
  ): Promise<void> {
    const { maximumRetryAttempts, maximumEventAgeSeconds } = model.asyncInvoke;
    const maxAgeMs = (maximumEventAgeSeconds * 1000) / this.options.ageScale;
    let lastError: unknown;
    for (let attempt = 0; attempt <= maximumRetryAttempts; attempt++) {
      if (attempt > 0)
        await sleep(this.options.retryDelaysMs[attempt - 1] ?? this.options.retryDelaysMs.at(-1) ?? 0);
      if (Date.now() - accepted > maxAgeMs) {
        this.giveUp(
          rule,
          event,
          payload,
          model,
          "expired",
          `older than MaximumEventAgeInSeconds ${maximumEventAgeSeconds}`,
        );
        return;
      }
      try {
        const result = await target.invoke(payload);
        this.record(rule, {
          event: event as LifecycleEvent,
          rule: rule.name,
          target: model.role,
          outcome: "delivered",
          detail: result,
        });
        return;
      } catch (error) {
        if (!(error instanceof FunctionError)) throw error;
        lastError = error;
        if (error.errorType === "Stopped") return;
      }
    }
    this.giveUp(rule, event, payload, model, "failed", lastError);
  }

  private giveUp(
    rule: RuleModel,
    event: unknown,
    payload: unknown,
    model: FunctionModel,
    outcome: "failed" | "expired",
    why: unknown,
  ): void {
    this.record(rule, {
      event: event as LifecycleEvent,
      rule: rule.name,
      target: model.role,
      outcome,
      detail: why,
    });
    // The queue holds what the function was invoked with.
    if (model.deadLetterArn !== undefined) {
      this.deadLetters.push({ queueArn: model.deadLetterArn, event: payload, error: String(why) });
    }
  }

  private record(rule: RuleModel, record: DeliveryRecord): void {
    // A schedule's events (a Scheduled Event, or its target's constant input) are not lifecycle
    // events: only those are kept for the tests and the timeline.
    if (rule.scheduleExpression !== undefined) return;
    this.records.push(record);
    this.options.onRecord?.(record);
  }
}

/** What EventBridge sends a target: its constant Input in place of the event, when it has one. */
function sent(event: unknown, input: string | undefined): unknown {
  return input === undefined ? event : JSON.parse(input);
}

/** Each rule's pattern, checked as PutRule checks it: an invalid one fails the deploy naming the rule. */
function compilePatterns(rules: readonly RuleModel[]): Map<string, EventPattern> {
  const compiled = new Map<string, EventPattern>();
  for (const rule of rules) {
    if (rule.eventPattern === undefined) continue;
    try {
      compiled.set(rule.logicalId, compileEventPattern(rule.eventPattern));
    } catch (error) {
      if (!(error instanceof InvalidEventPatternError)) throw error;
      throw new InvalidEventPatternError(`rule ${rule.logicalId}: ${error.reason}`, error.path);
    }
  }
  return compiled;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
