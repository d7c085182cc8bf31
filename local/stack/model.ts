// What the simulator runs, derived from the synthesized template and nothing else: the functions,
// the group with its hooks and launch template, the rules and the schedules, the function URL, the
// ledger table, the buckets, the dead-letter queues, the roles with their policies and the resource policies.
// Every value is resolved through the same physical names, so an ARN in a policy is the ARN of the
// resource the simulator serves.
import { type FunctionModel, readFunctions } from "./functions";
import { type GroupModel, readGroup } from "./group";
import { type ResourcePolicyModel, type RoleModel, readResourcePolicies, readRoles } from "./iam";
import { type ResolveContext, resolve, resolveString } from "./intrinsics";
import { type PhysicalOptions, PhysicalResources } from "./physical";
import { type RuleModel, readRules } from "./rules";
import { resourcesOfType, singleResourceOfType, type Template, TemplateError } from "./template";

export interface FunctionUrlModel {
  readonly logicalId: string;
  readonly functionArn: string;
  readonly authType: "AWS_IAM" | "NONE";
}

export interface TableModel {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly partitionKey: string;
  readonly sortKey: string | undefined;
  readonly timeToLiveAttribute: string | undefined;
}

export interface KmsKeyModel {
  readonly logicalId: string;
  /** The key ID Ref resolves to: the simulator creates the key with it. */
  readonly keyId: string;
  readonly arn: string;
  readonly keySpec: string;
  readonly keyUsage: string;
  readonly description: string | undefined;
  /** The key policy, resolved. */
  readonly policy: unknown;
}

export interface HostedZoneModel {
  readonly logicalId: string;
  /** The zone ID Ref resolves to: the simulator creates the zone with it. */
  readonly id: string;
  readonly name: string;
  /** The first VPC a private zone is associated with; undefined for a public zone. */
  readonly vpcId: string | undefined;
}

export interface QueueModel {
  readonly logicalId: string;
  readonly arn: string;
}

export interface StackModel {
  readonly stackName: string;
  /** The cloud assembly folder the template's assets are in. */
  readonly assetsDir: string;
  readonly account: string;
  readonly region: string;
  readonly partition: string;
  readonly functions: readonly FunctionModel[];
  readonly group: GroupModel;
  readonly rules: readonly RuleModel[];
  readonly functionUrls: readonly FunctionUrlModel[];
  readonly table: TableModel;
  readonly queues: readonly QueueModel[];
  /** The stack's S3 buckets (AWS::S3::Bucket) by name: the simulator creates them in its S3 server. */
  readonly buckets: readonly string[];
  readonly kmsKeys: readonly KmsKeyModel[];
  readonly hostedZones: readonly HostedZoneModel[];
  readonly roles: readonly RoleModel[];
  /** The role of the launch template's instance profile: what instances' credentials are for. */
  readonly instanceRoleArn: string;
  readonly resourcePolicies: readonly ResourcePolicyModel[];
  /** The stack's outputs, resolved. */
  readonly outputs: Readonly<Record<string, string>>;
  /** Resolves any other part of the template with the same physical names. */
  readonly context: ResolveContext;
}

export interface ReadStackOptions extends PhysicalOptions {
  /** Where the assets (`asset.<hash>/`) of the cloud assembly are: the template's folder normally. */
  readonly assetsDir: string;
}

export function readStack(template: Template, options: ReadStackOptions): StackModel {
  const context = new PhysicalResources(template, options);
  const functions = readFunctions(template, context, options.assetsDir);
  const instanceRoleArn = instanceRole(template, context);
  if (functions.length === 0) {
    throw new TemplateError(
      "the template has no function tagged etcd-asg:function: it is not an etcd-asg stack",
    );
  }
  return {
    stackName: options.pseudo.stackName,
    assetsDir: options.assetsDir,
    account: options.pseudo.accountId,
    region: options.pseudo.region,
    partition: options.pseudo.partition,
    functions,
    group: readGroup(template, context),
    rules: readRules(template, context),
    functionUrls: resourcesOfType(template, "AWS::Lambda::Url").map((logicalId) => {
      const props = (resolve(template.Resources[logicalId]?.Properties, context, `${logicalId}.Properties`) ??
        {}) as Record<string, unknown>;
      const authType = props.AuthType;
      if (authType !== "AWS_IAM" && authType !== "NONE") {
        throw new TemplateError(
          `${logicalId}.Properties.AuthType must be AWS_IAM or NONE, got ${String(authType)}`,
        );
      }
      return { logicalId, functionArn: String(props.TargetFunctionArn), authType };
    }),
    table: readTable(template, context),
    queues: resourcesOfType(template, "AWS::SQS::Queue").map((logicalId) => ({
      logicalId,
      arn: String(context.getAtt(logicalId, "Arn")),
    })),
    buckets: resourcesOfType(template, "AWS::S3::Bucket").map((logicalId) => context.ref(logicalId)),
    kmsKeys: resourcesOfType(template, "AWS::KMS::Key").map((logicalId) => {
      const props = (resolve(template.Resources[logicalId]?.Properties, context, `${logicalId}.Properties`) ??
        {}) as Record<string, unknown>;
      return {
        logicalId,
        keyId: context.ref(logicalId),
        arn: String(context.getAtt(logicalId, "Arn")),
        keySpec: String(props.KeySpec ?? "SYMMETRIC_DEFAULT"),
        keyUsage: String(props.KeyUsage ?? "ENCRYPT_DECRYPT"),
        description: props.Description === undefined ? undefined : String(props.Description),
        policy: props.KeyPolicy,
      };
    }),
    hostedZones: resourcesOfType(template, "AWS::Route53::HostedZone").map((logicalId) => {
      const props = (resolve(template.Resources[logicalId]?.Properties, context, `${logicalId}.Properties`) ??
        {}) as { Name?: unknown; VPCs?: { VPCId?: unknown }[] };
      if (typeof props.Name !== "string")
        throw new TemplateError(`${logicalId}.Properties.Name must be a name`);
      const vpc = props.VPCs?.[0]?.VPCId;
      return {
        logicalId,
        id: context.ref(logicalId),
        name: props.Name,
        vpcId: vpc === undefined ? undefined : String(vpc),
      };
    }),
    roles: readRoles(template, context, new Set([...functions.map((f) => f.roleArn), instanceRoleArn])),
    instanceRoleArn,
    resourcePolicies: readResourcePolicies(template, context, functions),
    outputs: Object.fromEntries(
      Object.entries(template.Outputs ?? {}).map(([name, output]) => [
        name,
        resolveString(output.Value, context, `Outputs.${name}`),
      ]),
    ),
    context,
  };
}

function instanceRole(template: Template, context: ResolveContext): string {
  const group = readGroupLaunchTemplateProfile(template, context);
  for (const id of resourcesOfType(template, "AWS::IAM::InstanceProfile")) {
    if (String(context.getAtt(id, "Arn")) !== group) continue;
    const roles = (resolve(template.Resources[id]?.Properties?.Roles, context, `${id}.Properties.Roles`) ??
      []) as string[];
    const roleId = resourcesOfType(template, "AWS::IAM::Role").find((role) => context.ref(role) === roles[0]);
    if (roleId !== undefined) return String(context.getAtt(roleId, "Arn"));
  }
  throw new TemplateError(
    `the launch template's instance profile ${group ?? "(none)"} has no role of this stack`,
  );
}

function readGroupLaunchTemplateProfile(template: Template, context: ResolveContext): string | undefined {
  for (const id of resourcesOfType(template, "AWS::EC2::LaunchTemplate")) {
    const profile = (
      template.Resources[id]?.Properties?.LaunchTemplateData as { IamInstanceProfile?: { Arn?: unknown } }
    )?.IamInstanceProfile?.Arn;
    if (profile !== undefined)
      return resolveString(profile, context, `${id}.Properties.LaunchTemplateData.IamInstanceProfile.Arn`);
  }
  return undefined;
}

function readTable(template: Template, context: ResolveContext): TableModel {
  const logicalId = singleResourceOfType(template, "AWS::DynamoDB::Table");
  const props = (resolve(template.Resources[logicalId]?.Properties, context, `${logicalId}.Properties`) ??
    {}) as Record<string, unknown>;
  const keys = (props.KeySchema ?? []) as Array<{ AttributeName: string; KeyType: string }>;
  const partitionKey = keys.find((key) => key.KeyType === "HASH")?.AttributeName;
  if (partitionKey === undefined)
    throw new TemplateError(`${logicalId}.Properties.KeySchema has no HASH key`);
  const ttl = props.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
  return {
    logicalId,
    name: context.ref(logicalId),
    arn: String(context.getAtt(logicalId, "Arn")),
    partitionKey,
    sortKey: keys.find((key) => key.KeyType === "RANGE")?.AttributeName,
    timeToLiveAttribute: ttl?.Enabled === true ? ttl.AttributeName : undefined,
  };
}
