// The simulator's IAM: one credential store (every function role's session, each instance's session
// of the node role, the operator) and one gate whose policies are the deployed template's — each
// role's identity policies and the stack's resource policies — replaced at every deploy. The
// operator is an administrator, as whoever runs `cdk deploy` is. Every refusal is kept, so a run can
// show which caller was denied which action.
import { CredentialStore, type SessionCredentials } from "../iam/credentials";
import type { Refusal } from "../iam/front";
import { createGate, type Gate } from "../iam/gate";
import { administrator, PolicySet } from "../iam/policies";
import type { StackModel } from "../stack/model";

export class SimulatorIam {
  readonly credentials: CredentialStore;
  /** Every request the gate refused, in order. */
  readonly refusals: Refusal[] = [];
  private current: Gate;
  /** The gate every local server puts in front of its service; it follows each deploy. */
  readonly gate: Gate = (request, front) => this.current(request, front);

  constructor(account: string) {
    this.credentials = new CredentialStore({ account });
    this.current = this.gateFor(undefined);
  }

  /** The operator's long-term credentials (an IAM user with administrator rights). */
  get operator(): { readonly accessKeyId: string; readonly secretAccessKey: string } {
    return this.credentials.operator.credentials;
  }

  /** From now on, requests are judged by `stack`'s policies. */
  deploy(stack: StackModel): void {
    this.current = this.gateFor(stack);
  }

  /** Credentials of a session of `roleArn` named `sessionName`, as STS AssumeRole returns them. */
  assumeRole(roleArn: string, sessionName: string): SessionCredentials {
    return this.credentials.assumeRole(roleArn, sessionName);
  }

  private gateFor(stack: StackModel | undefined): Gate {
    return createGate({
      callers: this.credentials,
      policies: new PolicySet({
        roles: (stack?.roles ?? []).map((role) => ({ roleArn: role.arn, policies: role.policies })),
        resourcePolicies: stack?.resourcePolicies ?? [],
        users: [administrator(this.credentials.operator.principal.arn)],
      }),
      onRefusal: (refusal) => this.refusals.push(refusal),
    });
  }
}
