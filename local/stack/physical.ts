// What CloudFormation would name each resource of a stack, and what Ref and Fn::GetAtt of it return:
// the given name when the template sets one, else a generated `<stack>-<logicalId>-<SUFFIX>` as
// CloudFormation generates it, and the ARNs IAM policies match. The suffix is drawn from a seed, so a
// redeploy of the same simulator keeps every name. Values only the running simulator knows (the
// function URL, a KMS key's ID, a launch template's version) come from `live`.
import { createHash } from "node:crypto";
import { IntrinsicError, type PseudoParameters, type ResolveContext, resolveString } from "./intrinsics";
import type { Template, TemplateResource } from "./template";

export interface PhysicalOptions {
  readonly pseudo: PseudoParameters;
  /** Seeds the random part of generated names. */
  readonly seed: string;
  /** Template parameter values by name (SSM parameters included); the parameter's Default otherwise. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** A value only the running simulator knows, or undefined. `attribute` is "Ref" for Ref. */
  readonly live?: (logicalId: string, attribute: string) => string | undefined;
}

export class PhysicalResources implements ResolveContext {
  readonly pseudo: PseudoParameters;
  readonly mappings: Template["Mappings"] & object;
  private readonly resolving = new Set<string>();

  constructor(
    private readonly template: Template,
    private readonly options: PhysicalOptions,
  ) {
    this.pseudo = options.pseudo;
    this.mappings = template.Mappings ?? {};
  }

  ref(logicalId: string): string {
    const live = this.options.live?.(logicalId, "Ref");
    if (live !== undefined) return live;
    const parameter = this.template.Parameters?.[logicalId];
    if (parameter !== undefined) {
      const value = this.options.parameters?.[logicalId] ?? parameter.Default;
      if (value === undefined) throw new IntrinsicError(`Ref ${logicalId}: the parameter has no value`);
      return String(value);
    }
    const resource = this.resource(logicalId, "Ref");
    const { region, accountId, partition } = this.pseudo;
    switch (resource.Type) {
      case "AWS::IAM::ManagedPolicy":
        return `arn:${partition}:iam::${accountId}:policy/${this.name(logicalId, "ManagedPolicyName", 128)}`;
      case "AWS::SQS::Queue":
        return `https://sqs.${region}.amazonaws.com/${accountId}/${this.name(logicalId, "QueueName", 80)}`;
      case "AWS::SNS::Topic":
        return `arn:${partition}:sns:${region}:${accountId}:${this.name(logicalId, "TopicName", 256)}`;
      case "AWS::KMS::Key":
        return this.uuid(logicalId);
      case "AWS::S3::Bucket":
        return this.name(logicalId, "BucketName", 63).toLowerCase();
      case "AWS::Route53::HostedZone":
        return `Z${this.hex(logicalId, 20).toUpperCase()}`;
      case "AWS::EC2::LaunchTemplate":
        return `lt-${this.hex(logicalId, 17)}`;
      case "AWS::EC2::SecurityGroup":
        return `sg-${this.hex(logicalId, 17)}`;
      case "AWS::EC2::Subnet":
        return `subnet-${this.hex(logicalId, 17)}`;
      case "AWS::EC2::VPC":
        return `vpc-${this.hex(logicalId, 17)}`;
      default:
        return this.name(logicalId, nameProperty(resource.Type), 64);
    }
  }

  getAtt(logicalId: string, attribute: string): string {
    const live = this.options.live?.(logicalId, attribute);
    if (live !== undefined) return live;
    const resource = this.resource(logicalId, `Fn::GetAtt ${attribute}`);
    const { region, accountId, partition } = this.pseudo;
    const arn = (service: string, rest: string, withRegion = true) =>
      `arn:${partition}:${service}:${withRegion ? region : ""}:${withRegion ? accountId : ""}:${rest}`;
    const value = ((): string | undefined => {
      switch (`${resource.Type}.${attribute}`) {
        case "AWS::Lambda::Function.Arn":
          return arn("lambda", `function:${this.ref(logicalId)}`);
        case "AWS::IAM::Role.Arn":
          return `arn:${partition}:iam::${accountId}:role/${this.path(resource)}${this.ref(logicalId)}`;
        case "AWS::IAM::Role.RoleId":
          return `AROA${this.hex(logicalId, 17).toUpperCase()}`;
        case "AWS::IAM::InstanceProfile.Arn":
          return `arn:${partition}:iam::${accountId}:instance-profile/${this.path(resource)}${this.ref(logicalId)}`;
        case "AWS::DynamoDB::Table.Arn":
          return arn("dynamodb", `table/${this.ref(logicalId)}`);
        case "AWS::SQS::Queue.Arn":
          return arn("sqs", this.name(logicalId, "QueueName", 80));
        case "AWS::SQS::Queue.QueueName":
          return this.name(logicalId, "QueueName", 80);
        case "AWS::Logs::LogGroup.Arn":
          return arn("logs", `log-group:${this.ref(logicalId)}:*`);
        case "AWS::Events::Rule.Arn":
          return arn("events", `rule/${this.ref(logicalId)}`);
        case "AWS::SNS::Topic.TopicName":
          return this.name(logicalId, "TopicName", 256);
        case "AWS::KMS::Key.Arn":
          return arn("kms", `key/${this.ref(logicalId)}`);
        case "AWS::KMS::Key.KeyId":
          return this.ref(logicalId);
        case "AWS::S3::Bucket.Arn":
          return `arn:${partition}:s3:::${this.ref(logicalId)}`;
        case "AWS::CloudWatch::Alarm.Arn":
          return arn("cloudwatch", `alarm:${this.ref(logicalId)}`);
        case "AWS::EC2::SecurityGroup.GroupId":
          return this.ref(logicalId);
        case "AWS::EC2::LaunchTemplate.LatestVersionNumber":
        case "AWS::EC2::LaunchTemplate.DefaultVersionNumber":
          return "1";
        default:
          return undefined;
      }
    })();
    if (value === undefined) {
      throw new IntrinsicError(
        `cannot resolve Fn::GetAtt [${logicalId}, ${attribute}]: the simulator does not know attribute ${attribute} of ${resource.Type}`,
      );
    }
    return value;
  }

  private resource(logicalId: string, what: string): TemplateResource {
    const resource = this.template.Resources[logicalId];
    if (resource === undefined) {
      throw new IntrinsicError(
        `cannot resolve ${what} of ${logicalId}: the template has no such resource or parameter`,
      );
    }
    return resource;
  }

  /** The resource's own name property when the template sets it, else a generated name. */
  private name(logicalId: string, property: string | undefined, maxLength: number): string {
    const given =
      property === undefined ? undefined : this.template.Resources[logicalId]?.Properties?.[property];
    if (given !== undefined) {
      if (this.resolving.has(logicalId)) {
        throw new IntrinsicError(`${logicalId}.${property} refers to itself`);
      }
      this.resolving.add(logicalId);
      try {
        return resolveString(given, this, `${logicalId}.Properties.${property}`);
      } finally {
        this.resolving.delete(logicalId);
      }
    }
    // CloudFormation: stack name and logical ID cut to fit, then a 12-character random suffix.
    const suffix = this.hex(logicalId, 12).toUpperCase();
    const room = maxLength - suffix.length - 2;
    const stack = this.pseudo.stackName.slice(0, Math.floor(room / 2));
    return `${stack}-${logicalId.slice(0, room - stack.length)}-${suffix}`;
  }

  private path(resource: TemplateResource): string {
    const path = resource.Properties?.Path;
    return typeof path === "string" && path !== "/" ? path.replace(/^\//, "") : "";
  }

  private hex(logicalId: string, length: number): string {
    return createHash("sha256").update(`${this.options.seed}/${logicalId}`).digest("hex").slice(0, length);
  }

  private uuid(logicalId: string): string {
    const h = this.hex(logicalId, 32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

/** The property that names a resource of `type`, when the type has one the stack may set. */
function nameProperty(type: string): string | undefined {
  return {
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::IAM::Policy": "PolicyName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Events::Rule": "Name",
    "AWS::AutoScaling::AutoScalingGroup": "AutoScalingGroupName",
    "AWS::CloudWatch::Alarm": "AlarmName",
  }[type];
}
