// The stack's IAM as the simulator enforces it: each role's identity policies — inline, attached
// AWS::IAM::Policy resources, and customer-managed AWS::IAM::ManagedPolicy resources — and the
// resource policies the stack declares (KMS key policies, S3 bucket policies, queue and topic
// policies, Lambda permissions), all with intrinsics resolved.
import type { NamedPolicy, PolicyDocument } from "../iam/policies";
import type { FunctionModel } from "./functions";
import { type ResolveContext, resolve } from "./intrinsics";
import { resourcesOfType, type Template, TemplateError } from "./template";

export interface RoleModel {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly policies: readonly NamedPolicy[];
  /** Managed policy ARNs that are not resources of the stack (AWS managed ones): not evaluated. */
  readonly externalManagedPolicies: readonly string[];
}

export interface ResourcePolicyModel {
  readonly resourceArn: string;
  readonly document: PolicyDocument;
}

/** The roles whose ARN is in `used` (the functions' roles and the instances' role): the others belong
 * to deploy-time machinery (CDK's custom resources, flow logs) the simulator does not run. */
export function readRoles(
  template: Template,
  context: ResolveContext,
  used: ReadonlySet<string>,
): RoleModel[] {
  const managed = new Map<string, NamedPolicy>(
    resourcesOfType(template, "AWS::IAM::ManagedPolicy").map((id) => [
      context.ref(id),
      { name: id, document: document(template, context, id, "PolicyDocument") },
    ]),
  );
  const attached = attachedPolicies(
    template,
    context,
    new Set([...used].map((arn) => arn.split("/").at(-1) ?? arn)),
  );
  const roles = resourcesOfType(template, "AWS::IAM::Role").filter((id) =>
    used.has(String(context.getAtt(id, "Arn"))),
  );
  return roles.map((logicalId) => {
    const props = (resolve(template.Resources[logicalId]?.Properties, context, `${logicalId}.Properties`) ??
      {}) as Record<string, unknown>;
    const name = context.ref(logicalId);
    const inline = (
      (props.Policies ?? []) as Array<{ PolicyName: string; PolicyDocument: PolicyDocument }>
    ).map((p) => ({ name: p.PolicyName, document: p.PolicyDocument }));
    const arns = (props.ManagedPolicyArns ?? []) as string[];
    return {
      logicalId,
      name,
      arn: String(context.getAtt(logicalId, "Arn")),
      policies: [
        ...inline,
        ...arns.flatMap((arn) => {
          const policy = managed.get(arn);
          return policy === undefined ? [] : [policy];
        }),
        ...(attached.get(name) ?? []),
      ],
      externalManagedPolicies: arns.filter((arn) => !managed.has(arn)),
    };
  });
}

/** AWS::IAM::Policy and ManagedPolicy resources that name roles in `Roles`, by role name. */
function attachedPolicies(
  template: Template,
  context: ResolveContext,
  usedNames: ReadonlySet<string>,
): Map<string, NamedPolicy[]> {
  const byRole = new Map<string, NamedPolicy[]>();
  for (const type of ["AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"]) {
    for (const id of resourcesOfType(template, type)) {
      const roles = (resolve(template.Resources[id]?.Properties?.Roles, context, `${id}.Properties.Roles`) ??
        []) as string[];
      if (!roles.some((role) => usedNames.has(role))) continue;
      for (const role of roles) {
        byRole.set(role, [
          ...(byRole.get(role) ?? []),
          { name: id, document: document(template, context, id, "PolicyDocument") },
        ]);
      }
    }
  }
  return byRole;
}

export function readResourcePolicies(
  template: Template,
  context: ResolveContext,
  functions: readonly FunctionModel[],
): ResourcePolicyModel[] {
  const policies: ResourcePolicyModel[] = [];
  for (const id of resourcesOfType(template, "AWS::KMS::Key")) {
    policies.push({
      resourceArn: String(context.getAtt(id, "Arn")),
      document: document(template, context, id, "KeyPolicy"),
    });
  }
  const attachments: Array<[string, string, (target: string) => string]> = [
    ["AWS::S3::BucketPolicy", "Bucket", (bucket) => `arn:${context.pseudo.partition}:s3:::${bucket}`],
    ["AWS::SQS::QueuePolicy", "Queues", (url) => sqsArn(url, context)],
    ["AWS::SNS::TopicPolicy", "Topics", (arn) => arn],
  ];
  for (const [type, property, arnOf] of attachments) {
    for (const id of resourcesOfType(template, type)) {
      const targets = resolve(
        template.Resources[id]?.Properties?.[property],
        context,
        `${id}.Properties.${property}`,
      );
      for (const target of Array.isArray(targets) ? targets : [targets]) {
        policies.push({
          resourceArn: arnOf(String(target)),
          document: document(template, context, id, "PolicyDocument"),
        });
      }
    }
  }
  for (const fn of functions) {
    if (fn.permissions.length === 0) continue;
    policies.push({
      resourceArn: fn.arn,
      document: {
        Version: "2012-10-17",
        Statement: fn.permissions.map((permission) => ({
          Effect: "Allow",
          Principal: permission.principal.includes(".amazonaws.com")
            ? { Service: permission.principal }
            : { AWS: permission.principal },
          Action: permission.action,
          Resource: fn.arn,
          ...(permission.sourceArn === undefined
            ? {}
            : { Condition: { ArnLike: { "aws:SourceArn": permission.sourceArn } } }),
        })),
      },
    });
  }
  return policies;
}

function document(template: Template, context: ResolveContext, id: string, property: string): PolicyDocument {
  const doc = resolve(
    template.Resources[id]?.Properties?.[property],
    context,
    `${id}.Properties.${property}`,
  );
  if (typeof doc !== "object" || doc === null || !("Statement" in doc)) {
    throw new TemplateError(`${id}.Properties.${property} is not a policy document`);
  }
  return doc as PolicyDocument;
}

function sqsArn(url: string, context: ResolveContext): string {
  const match = /^https:\/\/sqs\.([^.]+)\.[^/]+\/(\d{12})\/(.+)$/.exec(url);
  if (match === null) throw new TemplateError(`cannot tell the queue of ${url}`);
  return `arn:${context.pseudo.partition}:sqs:${match[1]}:${match[2]}:${match[3]}`;
}
