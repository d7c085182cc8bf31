// The stack's EventBridge rules as the simulator runs them, from AWS::Events::Rule: an event pattern
// or a schedule, the state, and each target — the function it invokes, its retry policy and its
// dead-letter queue. Targets that are not functions of the stack are kept with their ARN so the
// simulator can say it does not deliver to them.
import { type ResolveContext, resolve } from "./intrinsics";
import { resourcesOfType, type Template, TemplateError } from "./template";

export interface RuleTarget {
  readonly id: string;
  readonly arn: string;
  /** EventBridge's retries when the target cannot be invoked. Default 185. */
  readonly maximumRetryAttempts: number;
  /** Default 24 hours. */
  readonly maximumEventAgeSeconds: number;
  readonly deadLetterArn: string | undefined;
  /** The target's Input, when it replaces the event. */
  readonly input: string | undefined;
}

export interface RuleModel {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly enabled: boolean;
  readonly eventPattern: Readonly<Record<string, unknown>> | undefined;
  /** `rate(...)` or `cron(...)`. */
  readonly scheduleExpression: string | undefined;
  readonly targets: readonly RuleTarget[];
}

export function readRules(template: Template, context: ResolveContext): RuleModel[] {
  return resourcesOfType(template, "AWS::Events::Rule").map((logicalId) => {
    const where = `${logicalId}.Properties`;
    const props = (resolve(template.Resources[logicalId]?.Properties, context, where) ?? {}) as Record<
      string,
      unknown
    >;
    const targets = (props.Targets ?? []) as Array<Record<string, unknown>>;
    return {
      logicalId,
      name: context.ref(logicalId),
      arn: String(context.getAtt(logicalId, "Arn")),
      enabled: props.State === undefined || props.State === "ENABLED",
      eventPattern: pattern(props.EventPattern, where),
      scheduleExpression:
        props.ScheduleExpression === undefined ? undefined : String(props.ScheduleExpression),
      targets: targets.map((target) => {
        const retry = (target.RetryPolicy ?? {}) as Record<string, unknown>;
        return {
          id: String(target.Id),
          arn: String(target.Arn),
          maximumRetryAttempts: Number(retry.MaximumRetryAttempts ?? 185),
          maximumEventAgeSeconds: Number(retry.MaximumEventAgeInSeconds ?? 86_400),
          deadLetterArn: (target.DeadLetterConfig as { Arn?: string } | undefined)?.Arn,
          input: target.Input === undefined ? undefined : String(target.Input),
        };
      }),
    };
  });
}

function pattern(value: unknown, where: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  const parsed = typeof value === "string" ? (JSON.parse(value) as unknown) : value;
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new TemplateError(`${where}.EventPattern must be an object`);
  }
  return parsed as Record<string, unknown>;
}

/** A `rate(N unit)` schedule's period in milliseconds; cron schedules are not run by the simulator. */
export function ratePeriodMs(expression: string): number {
  const match = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (match === null) {
    throw new TemplateError(
      `schedule ${expression}: the simulator runs rate(N minute|hour|day) schedules only`,
    );
  }
  const unit = { minute: 60_000, hour: 3_600_000, day: 86_400_000 }[match[2]?.replace(/s$/, "") as "minute"];
  return Number(match[1]) * unit;
}
