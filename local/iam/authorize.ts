// Decides whether a caller may perform one action on one resource, by IAM's evaluation logic as
// @cloud-copilot/iam-simulate implements it (identity and resource policies, explicit denies,
// conditions, KMS key policies that must allow or delegate to the account), and words a refusal as
// AWS does: "User: <caller> is not authorized to perform: <action> on resource: <arn> because no
// identity-based policy allows the <action> action".
// iam-simulate is AGPL: this file is simulator-only and must never be imported by lambdas/ or cdk/.
import {
  type BlockedReason,
  getDenialReasons,
  type RequestAnalysis,
  runSimulation,
  type Simulation,
} from "@cloud-copilot/iam-simulate";
import { rememberedDecision } from "./decision-cache";
import type { PolicyDocument, PolicySet } from "./policies";

export type ContextValues = Readonly<Record<string, string | readonly string[]>>;

export interface AuthorizationRequest {
  /** The caller: an assumed-role session ARN or an IAM user ARN. */
  readonly principalArn: string;
  /** `service:Action`, e.g. `autoscaling:CompleteLifecycleAction`. */
  readonly action: string;
  /** The resource ARN, or `*` for an action without resource types. */
  readonly resource: string;
  /** Request context keys (`aws:SecureTransport`, `aws:CurrentTime`, service keys). */
  readonly context?: ContextValues;
  /** The resource's policy when its server knows it better than the policy set (a key made at run time). */
  readonly resourcePolicy?: PolicyDocument;
}

/** Which kind of policy refused, and whether by an explicit Deny or for want of an Allow. */
export interface DenialReason {
  readonly explicit: boolean;
  readonly policyType: BlockedReason | "session";
}

export type AuthorizationResult =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      readonly code: "ExplicitDeny" | "ImplicitDeny";
      readonly message: string;
      readonly reason: DenialReason;
    };

/** iam-simulate refused its input: an unknown action, an ARN of the wrong type, a broken policy. */
export class AuthorizationInputError extends Error {
  override readonly name = "AuthorizationInputError";
}

/** The policy a key gets when CreateKey names none: the account may do everything IAM allows it. */
export function defaultKeyPolicy(account: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "Enable IAM User Permissions",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: "kms:*",
        Resource: "*",
      },
    ],
  };
}

export async function authorize(
  policies: PolicySet,
  request: AuthorizationRequest,
): Promise<AuthorizationResult> {
  const identity = policies.identity(request.principalArn);
  const account = identity?.account ?? request.principalArn.split(":")[4] ?? "";
  const resourcePolicy = request.resourcePolicy ?? resourcePolicyFor(policies, request.resource, account);
  const simulation: Simulation = {
    request: {
      principal: request.principalArn,
      action: request.action,
      resource: { resource: request.resource, accountId: resourceAccount(request.resource, account) },
      contextVariables: {
        ...(identity === undefined
          ? {}
          : {
              "aws:PrincipalArn": identity.arn,
              "aws:PrincipalAccount": identity.account,
              "aws:PrincipalType": identity.type,
            }),
        "aws:PrincipalIsAWSService": "false",
        "aws:ViaAWSService": "false",
        ...copy(request.context ?? {}),
      },
    },
    identityPolicies: (identity?.policies ?? []).map((policy) => ({
      name: policy.name,
      policy: policy.document,
    })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(resourcePolicy === undefined ? {} : { resourcePolicy }),
  };
  return rememberedDecision(policies, simulation, () => evaluate(simulation, request));
}

async function evaluate(simulation: Simulation, request: AuthorizationRequest): Promise<AuthorizationResult> {
  const result = await runSimulation(simulation, {});
  if (result.resultType === "error") {
    throw new AuthorizationInputError(
      `cannot evaluate ${request.action} on ${request.resource} for ${request.principalArn}: ${JSON.stringify(result.errors)}`,
    );
  }
  if (result.overallResult === "Allowed") return { allowed: true };
  const analysis = result.resultType === "single" ? result.result.analysis : result.results[0]?.analysis;
  const reason = denialReason(analysis, result.overallResult === "ExplicitlyDenied");
  return {
    allowed: false,
    code: reason.explicit ? "ExplicitDeny" : "ImplicitDeny",
    message: denialMessage(request, reason),
    reason,
  };
}

export interface DenialMessageOptions {
  /** S3 puts the resource in double quotes. */
  readonly quoteResource?: boolean;
}

/**
 * AWS's wording of a refusal. Actions without resource types (resource `*`) leave out the
 * "on resource" part, as AWS does.
 */
export function denialMessage(
  request: Pick<AuthorizationRequest, "principalArn" | "action" | "resource">,
  reason: DenialReason,
  options: DenialMessageOptions = {},
): string {
  const { principalArn, action, resource } = request;
  const on =
    resource === "*" ? "" : ` on resource: ${options.quoteResource === true ? `"${resource}"` : resource}`;
  const policy = POLICY_WORDS[reason.policyType];
  const why = reason.explicit
    ? `with an explicit deny in ${policy.article} ${policy.name}`
    : `because no ${policy.name} allows the ${action} action`;
  return `User: ${principalArn} is not authorized to perform: ${action}${on} ${why}`;
}

const POLICY_WORDS: Record<DenialReason["policyType"], { readonly article: string; readonly name: string }> =
  {
    identity: { article: "an", name: "identity-based policy" },
    resource: { article: "a", name: "resource-based policy" },
    scp: { article: "a", name: "service control policy" },
    rcp: { article: "a", name: "resource control policy" },
    pb: { article: "a", name: "permissions boundary" },
    vpce: { article: "a", name: "VPC endpoint policy" },
    "s3-bpa": { article: "an", name: "S3 Block Public Access setting" },
    session: { article: "a", name: "session policy" },
  };

/** The first explicit denial if there is one, else the first policy that did not allow. */
function denialReason(analysis: RequestAnalysis | undefined, explicit: boolean): DenialReason {
  const reasons = analysis === undefined ? [] : getDenialReasons(analysis);
  const chosen = reasons.find((r) => r.denialType === "Explicit") ?? reasons[0];
  return {
    explicit: chosen?.denialType === "Explicit" || (chosen === undefined && explicit),
    policyType: chosen?.policyType ?? "identity",
  };
}

function resourcePolicyFor(
  policies: PolicySet,
  resource: string,
  account: string,
): PolicyDocument | undefined {
  const own = policies.resourcePolicy(resource);
  if (own !== undefined) return own;
  // Every KMS key has a key policy, and KMS evaluates nothing without one: a key the template does
  // not declare (one made by CreateKey at run time) has the default policy.
  return /^arn:aws[a-z-]*:kms:[^:]+:\d{12}:key\//.test(resource) ? defaultKeyPolicy(account) : undefined;
}

/** The account that owns a resource: from its ARN, or the caller's for ARNs without one (S3, `*`). */
function resourceAccount(resource: string, callerAccount: string): string {
  const account = resource.split(":")[4];
  return account !== undefined && /^\d{12}$/.test(account) ? account : callerAccount;
}

function copy(context: ContextValues): Record<string, string | string[]> {
  return Object.fromEntries(
    Object.entries(context).map(([key, value]) => [key, typeof value === "string" ? value : [...value]]),
  );
}
