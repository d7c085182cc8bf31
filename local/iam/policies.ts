// The policies the simulator enforces: each role's identity policies (inline, attached and managed,
// as the template declares them), the operator's, and the resource policies of the stack's
// resources (KMS key policies, S3 bucket policies, Lambda function policies). Every document has its
// intrinsics already resolved to plain strings: the template reader does that, this only looks up.

/** An IAM policy document with plain-string values (no `Fn::*`, no `Ref`). */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: readonly Record<string, unknown>[] | Record<string, unknown>;
}

export interface NamedPolicy {
  /** Inline policy name, or the managed/attached policy's name; shown in explanations only. */
  readonly name: string;
  readonly document: PolicyDocument;
}

/** A role and every identity policy it has. */
export interface RolePolicies {
  /** `arn:aws:iam::<account>:role/<path><name>` */
  readonly roleArn: string;
  readonly policies: readonly NamedPolicy[];
}

/** An IAM user and every identity policy it has. */
export interface UserPolicies {
  /** `arn:aws:iam::<account>:user/<path><name>` */
  readonly userArn: string;
  readonly policies: readonly NamedPolicy[];
}

/** The policy attached to a resource: a key policy, a bucket policy, a function's permissions. */
export interface ResourcePolicy {
  /** The key ARN, the bucket ARN (`arn:aws:s3:::<bucket>`), the unqualified function ARN. */
  readonly resourceArn: string;
  readonly document: PolicyDocument;
}

export interface PolicySetInput {
  readonly roles: readonly RolePolicies[];
  readonly users?: readonly UserPolicies[];
  readonly resourcePolicies?: readonly ResourcePolicy[];
}

/** Whose identity policies apply to a caller, and which they are. */
export interface Identity {
  /** The role ARN for a role session, the user ARN for a user: `aws:PrincipalArn`. */
  readonly arn: string;
  readonly type: "AssumedRole" | "User";
  readonly account: string;
  readonly policies: readonly NamedPolicy[];
}

/** AWS's AdministratorAccess managed policy: everything on everything. */
export const ADMINISTRATOR_ACCESS: NamedPolicy = {
  name: "AdministratorAccess",
  document: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] },
};

/** The operator: an administrator, like the IAM user that deploys and runs the stack. */
export function administrator(userArn: string): UserPolicies {
  return { userArn, policies: [ADMINISTRATOR_ACCESS] };
}

export class PolicySet {
  private readonly rolesByName = new Map<string, RolePolicies>();
  private readonly usersByArn = new Map<string, UserPolicies>();
  private readonly resourcePolicies = new Map<string, PolicyDocument>();

  constructor(input: PolicySetInput) {
    // Role names are unique in an account, and a session ARN names the role without its path.
    for (const role of input.roles) this.rolesByName.set(roleName(role.roleArn), role);
    for (const user of input.users ?? []) this.usersByArn.set(user.userArn, user);
    for (const { resourceArn, document } of input.resourcePolicies ?? []) {
      const existing = this.resourcePolicies.get(resourceArn);
      // Several Lambda permissions (or a policy declared twice) make one policy with all statements.
      this.resourcePolicies.set(resourceArn, existing === undefined ? document : merge(existing, document));
    }
  }

  /**
   * The identity behind a caller ARN: an assumed-role session
   * (`arn:aws:sts::<account>:assumed-role/<role>/<session>`), a role or a user ARN. Undefined when the
   * set does not know it: such a caller has no identity policies.
   */
  identity(callerArn: string): Identity | undefined {
    const session = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/.exec(callerArn);
    const roleArn = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[^/]+\/)*([^/]+)$/.exec(callerArn);
    const match = session ?? roleArn;
    if (match) {
      const role = this.rolesByName.get(match[2] ?? "");
      if (role === undefined || accountOf(role.roleArn) !== match[1]) return undefined;
      return { arn: role.roleArn, type: "AssumedRole", account: match[1] ?? "", policies: role.policies };
    }
    const user = this.usersByArn.get(callerArn);
    if (user === undefined) return undefined;
    return { arn: user.userArn, type: "User", account: accountOf(user.userArn), policies: user.policies };
  }

  /**
   * The resource policy that governs `resourceArn`: its own, or for an S3 object its bucket's.
   * Undefined when it has none.
   */
  resourcePolicy(resourceArn: string): PolicyDocument | undefined {
    const own = this.resourcePolicies.get(resourceArn);
    if (own !== undefined) return own;
    const object = /^(arn:aws[a-z-]*:s3:::[^/]+)\/.+$/.exec(resourceArn);
    return object ? this.resourcePolicies.get(object[1] ?? "") : undefined;
  }
}

function roleName(roleArn: string): string {
  return roleArn.split("/").at(-1) ?? roleArn;
}

function accountOf(arn: string): string {
  return arn.split(":")[4] ?? "";
}

function merge(a: PolicyDocument, b: PolicyDocument): PolicyDocument {
  return { Version: a.Version ?? b.Version ?? "2012-10-17", Statement: [...statements(a), ...statements(b)] };
}

function statements(document: PolicyDocument): readonly Record<string, unknown>[] {
  return Array.isArray(document.Statement)
    ? (document.Statement as readonly Record<string, unknown>[])
    : [document.Statement as Record<string, unknown>];
}
