// Who is calling the node API. A Lambda function URL with AWS_IAM auth passes the verified caller
// in requestContext.authorizer.iam; for instance-role credentials the caller is an assumed-role
// session whose name EC2 sets to the instance ID. Nothing else proves which instance is asking.
import { EtcdAsgError } from "../errors";

export class IdentityRefusedError extends EtcdAsgError {
  override readonly name = "IdentityRefusedError";
}

const ASSUMED_ROLE = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/(i-[0-9a-f]{8,17})$/;
const ROLE = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]{1,64})$/;

export interface Caller {
  readonly roleName: string;
  readonly instanceId: string;
}

export interface NodeRole {
  readonly partition: string;
  readonly account: string;
  readonly name: string;
}

/** The node role from its ARN (`arn:aws:iam::123456789012:role/etcd-node`); throws naming the value. */
export function parseNodeRole(roleArn: string): NodeRole {
  const match = ROLE.exec(roleArn);
  if (match === null) throw new IdentityRefusedError(`${JSON.stringify(roleArn)} is not an IAM role ARN`);
  const [, partition = "", account = "", name = ""] = match;
  return { partition, account, name };
}

/**
 * The instance behind `userArn`: refused unless it is a session of the node role — same partition,
 * same account, same role name — whose session name EC2 set to an instance ID.
 */
export function callerInstance(userArn: string | undefined, role: NodeRole): Caller {
  if (userArn === undefined) throw new IdentityRefusedError("request carries no IAM caller identity");
  const match = ASSUMED_ROLE.exec(userArn);
  if (match === null) {
    throw new IdentityRefusedError(`caller ${userArn.slice(0, 300)} is not an EC2 instance-role session`);
  }
  const [, partition = "", account = "", roleName = "", instanceId = ""] = match;
  if (partition !== role.partition || account !== role.account || roleName !== role.name) {
    throw new IdentityRefusedError(
      `caller ${userArn} is not a session of the node role arn:${role.partition}:iam::${role.account}:role/${role.name}`,
    );
  }
  return { roleName, instanceId };
}

/** The caller may only ask about itself. */
export function requireSelf(caller: Caller, instanceId: string): void {
  if (caller.instanceId !== instanceId) {
    throw new IdentityRefusedError(`instance ${caller.instanceId} may not act for ${instanceId}`);
  }
}
