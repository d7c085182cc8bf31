// Who is calling the node API. A Lambda function URL with AWS_IAM auth passes the verified caller
// in requestContext.authorizer.iam; for instance-role credentials the caller is an assumed-role
// session whose name EC2 sets to the instance ID. Nothing else proves which instance is asking.
import { EtcdAsgError } from "../errors";

export class IdentityRefusedError extends EtcdAsgError {
  override readonly name = "IdentityRefusedError";
}

const ASSUMED_ROLE = /^arn:aws[a-z-]*:sts::\d{12}:assumed-role\/([\w+=,.@-]{1,64})\/(i-[0-9a-f]{8,17})$/;

export interface Caller {
  readonly roleName: string;
  readonly instanceId: string;
}

/** The instance behind `userArn`; refused unless it is an instance-role session (of `roleName` when set). */
export function callerInstance(userArn: string | undefined, roleName: string | undefined): Caller {
  if (userArn === undefined) throw new IdentityRefusedError("request carries no IAM caller identity");
  const match = ASSUMED_ROLE.exec(userArn);
  if (match === null) {
    throw new IdentityRefusedError(`caller ${userArn} is not an EC2 instance-role session`);
  }
  const [, role = "", instanceId = ""] = match;
  if (roleName !== undefined && role !== roleName) {
    throw new IdentityRefusedError(`caller role ${role} is not the node role ${roleName}`);
  }
  return { roleName: role, instanceId };
}

/** The caller may only ask about itself. */
export function requireSelf(caller: Caller, instanceId: string): void {
  if (caller.instanceId !== instanceId) {
    throw new IdentityRefusedError(`instance ${caller.instanceId} may not act for ${instanceId}`);
  }
}
