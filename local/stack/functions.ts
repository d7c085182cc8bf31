// The stack's control-plane functions as the simulator runs them, read from their
// AWS::Lambda::Function resources: code (the asset directory of the cloud assembly), handler,
// runtime, environment, timeout, memory, reserved concurrency, role, dead-letter target, the
// asynchronous invocation settings of their AWS::Lambda::EventInvokeConfig and the resource policy
// their AWS::Lambda::Permission resources make. A function is the control plane's when it carries the
// tag `etcd-asg:function` (cdk/lib/control-plane.ts sets it); CDK's own custom-resource handlers run
// only at deploy and are not run here.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FUNCTION_TAG } from "../../cdk/lib/function-tag";
import { type ResolveContext, resolve, resolveString } from "./intrinsics";
import { resourcesOfType, type Template, TemplateError } from "./template";

export interface AsyncInvokeConfig {
  /** Retries after a function error (0 to 2). Lambda's default: 2. */
  readonly maximumRetryAttempts: number;
  /** Events older than this are dropped, not run. Lambda's default: 6 hours. */
  readonly maximumEventAgeSeconds: number;
}

export interface PermissionStatement {
  readonly action: string;
  readonly principal: string;
  readonly sourceArn: string | undefined;
  readonly functionUrlAuthType: string | undefined;
}

export interface FunctionModel {
  readonly logicalId: string;
  /** The `etcd-asg:function` tag: launch-hook, terminate-hook, reconciler, node-api, ... */
  readonly role: string;
  readonly name: string;
  readonly arn: string;
  /** The unzipped asset: what Lambda would extract to /var/task. */
  readonly codeDir: string;
  readonly handler: string;
  readonly runtime: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** ReservedConcurrentExecutions, when set. */
  readonly reservedConcurrency: number | undefined;
  readonly roleArn: string;
  readonly deadLetterArn: string | undefined;
  readonly asyncInvoke: AsyncInvokeConfig;
  readonly permissions: readonly PermissionStatement[];
}

export function readFunctions(
  template: Template,
  context: ResolveContext,
  assetsDir: string,
): FunctionModel[] {
  const functions: FunctionModel[] = [];
  for (const logicalId of resourcesOfType(template, "AWS::Lambda::Function")) {
    const where = (property: string) => `${logicalId}.Properties.${property}`;
    const props = template.Resources[logicalId]?.Properties ?? {};
    const tags = (resolve(props.Tags, context, where("Tags")) ?? []) as Array<{ Key: string; Value: string }>;
    const role = tags.find((tag) => tag.Key === FUNCTION_TAG)?.Value;
    if (role === undefined) continue;
    const environment = (resolve(props.Environment, context, where("Environment")) ?? {}) as {
      Variables?: Record<string, unknown>;
    };
    const invokeConfig = asyncInvokeConfig(template, context, logicalId);
    functions.push({
      logicalId,
      role,
      name: context.ref(logicalId),
      arn: String(context.getAtt(logicalId, "Arn")),
      codeDir: codeDirectory(props.Code, logicalId, assetsDir),
      handler: resolveString(props.Handler, context, where("Handler")),
      runtime: resolveString(props.Runtime, context, where("Runtime")),
      environment: Object.fromEntries(
        Object.entries(environment.Variables ?? {}).map(([key, value]) => [key, String(value)]),
      ),
      timeoutSeconds: Number(resolve(props.Timeout, context, where("Timeout")) ?? 3),
      memoryMb: Number(resolve(props.MemorySize, context, where("MemorySize")) ?? 128),
      reservedConcurrency:
        props.ReservedConcurrentExecutions === undefined
          ? undefined
          : Number(
              resolve(props.ReservedConcurrentExecutions, context, where("ReservedConcurrentExecutions")),
            ),
      roleArn: resolveString(props.Role, context, where("Role")),
      deadLetterArn:
        props.DeadLetterConfig === undefined
          ? undefined
          : resolveString(
              (props.DeadLetterConfig as { TargetArn?: unknown }).TargetArn,
              context,
              where("DeadLetterConfig"),
            ),
      asyncInvoke: invokeConfig,
      permissions: permissions(template, context, logicalId),
    });
  }
  return functions;
}

/** The Code of a function synthesized from a local asset: `asset.<hash>` next to the template. */
function codeDirectory(code: unknown, logicalId: string, assetsDir: string): string {
  const key = (code as { S3Key?: unknown } | undefined)?.S3Key;
  const hash = typeof key === "string" ? /^([0-9a-f]{64})\.zip$/.exec(key)?.[1] : undefined;
  if (hash === undefined) {
    throw new TemplateError(
      `${logicalId}.Properties.Code is not a CDK file asset (S3Key <sha256>.zip); the simulator runs local assets only`,
    );
  }
  const dir = join(assetsDir, `asset.${hash}`);
  if (!existsSync(dir)) {
    throw new TemplateError(
      `${logicalId}: its code asset ${dir} does not exist (synthesize the app, or pass --assets)`,
    );
  }
  return dir;
}

function asyncInvokeConfig(
  template: Template,
  context: ResolveContext,
  logicalId: string,
): AsyncInvokeConfig {
  const defaults = { maximumRetryAttempts: 2, maximumEventAgeSeconds: 21_600 };
  for (const id of resourcesOfType(template, "AWS::Lambda::EventInvokeConfig")) {
    const props = template.Resources[id]?.Properties ?? {};
    if (resolve(props.FunctionName, context, `${id}.Properties.FunctionName`) !== context.ref(logicalId))
      continue;
    return {
      maximumRetryAttempts: Number(props.MaximumRetryAttempts ?? defaults.maximumRetryAttempts),
      maximumEventAgeSeconds: Number(props.MaximumEventAgeInSeconds ?? defaults.maximumEventAgeSeconds),
    };
  }
  return defaults;
}

function permissions(template: Template, context: ResolveContext, logicalId: string): PermissionStatement[] {
  const name = context.ref(logicalId);
  const arn = String(context.getAtt(logicalId, "Arn"));
  return resourcesOfType(template, "AWS::Lambda::Permission").flatMap((id) => {
    const props = (resolve(template.Resources[id]?.Properties, context, `${id}.Properties`) ?? {}) as Record<
      string,
      unknown
    >;
    if (props.FunctionName !== name && props.FunctionName !== arn) return [];
    return [
      {
        action: String(props.Action),
        principal: String(props.Principal),
        sourceArn: props.SourceArn === undefined ? undefined : String(props.SourceArn),
        functionUrlAuthType:
          props.FunctionUrlAuthType === undefined ? undefined : String(props.FunctionUrlAuthType),
      },
    ];
  });
}
