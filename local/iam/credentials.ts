// The simulator's STS and IAM access keys: issues temporary credentials for assumed-role sessions
// (each function's role; the node role's session per instance, named by its instance ID as EC2 names
// it) and long-term keys for the operator, an IAM user the tests, the CLI and the simulator's own
// tooling use, and says who an access key belongs to. Credentials have the SDK's shape, so they can
// be handed to a client as they are.
import { createHash, randomBytes } from "node:crypto";
import type { SigningSecret } from "./sigv4";

/** An access key as the SDKs take it (`AwsCredentialIdentity`). */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Temporary credentials only. */
  readonly sessionToken?: string;
  /** Temporary credentials only. */
  readonly expiration?: Date;
}

/** Temporary credentials, as STS AssumeRole returns them. */
export interface SessionCredentials extends Credentials {
  readonly sessionToken: string;
  readonly expiration: Date;
}

export interface AssumedRolePrincipal {
  readonly kind: "assumed-role";
  /** The caller ARN: `arn:aws:sts::<account>:assumed-role/<role name>/<session name>`. */
  readonly arn: string;
  readonly account: string;
  /** `arn:aws:iam::<account>:role/<path><role name>`: whose policies apply. */
  readonly roleArn: string;
  readonly roleName: string;
  readonly sessionName: string;
  /** `AROA…:<session name>`, as `aws:userid` and a function URL's callerId show it. */
  readonly userId: string;
  readonly issuedAt: Date;
}

export interface UserPrincipal {
  readonly kind: "user";
  /** `arn:aws:iam::<account>:user/<path><user name>` */
  readonly arn: string;
  readonly account: string;
  readonly userName: string;
  /** `AIDA…` */
  readonly userId: string;
}

export type Principal = AssumedRolePrincipal | UserPrincipal;

/** Who an access key belongs to and what signs with it. */
export interface Caller {
  readonly principal: Principal;
  readonly credentials: Credentials;
}

/** What a gate needs from a credential store. */
export interface CallerLookup {
  lookup(accessKeyId: string): Caller | undefined;
}

export interface CredentialStoreOptions {
  readonly account: string;
  /** @default "etcd-asg-operator" */
  readonly operatorName?: string;
  /**
   * How long session credentials live. Lambda's and EC2's credentials are refreshed by AWS before
   * they expire; the simulator's are not, so they outlive any run unless a test shortens them.
   * @default 12 hours (the longest role session STS grants)
   */
  readonly sessionDurationMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** A role session name AWS would refuse (STS: 2–64 of `[\w+=,.@-]`). */
export class InvalidSessionNameError extends Error {
  override readonly name = "InvalidSessionNameError";
}

/** A role ARN that is not `arn:<partition>:iam::<account>:role/<path><name>`. */
export class InvalidRoleArnError extends Error {
  override readonly name = "InvalidRoleArnError";
}

export class CredentialStore implements CallerLookup {
  readonly account: string;
  /** The operator: an IAM user with long-term keys (AKIA…, no session token). */
  readonly operator: { readonly principal: UserPrincipal; readonly credentials: Credentials };
  private readonly callers = new Map<string, Caller>();
  private readonly sessionDurationMs: number;
  private readonly now: () => number;

  constructor(options: CredentialStoreOptions) {
    this.account = options.account;
    this.sessionDurationMs = options.sessionDurationMs ?? 12 * 3600 * 1000;
    this.now = options.now ?? Date.now;
    const userName = options.operatorName ?? "etcd-asg-operator";
    const principal: UserPrincipal = {
      kind: "user",
      arn: `arn:aws:iam::${this.account}:user/${userName}`,
      account: this.account,
      userName,
      userId: uniqueId("AIDA", `user/${userName}`),
    };
    const credentials = { accessKeyId: accessKeyId("AKIA"), secretAccessKey: secret() };
    this.callers.set(credentials.accessKeyId, { principal, credentials });
    this.operator = { principal, credentials };
  }

  /** Credentials of a session of `roleArn` named `sessionName`, as STS AssumeRole returns them. */
  assumeRole(roleArn: string, sessionName: string): SessionCredentials {
    const match = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[^/]+\/)*([\w+=,.@-]{1,64})$/.exec(roleArn);
    if (!match) throw new InvalidRoleArnError(`${roleArn} is not an IAM role ARN`);
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
      throw new InvalidSessionNameError(
        `role session name '${sessionName}' must be 2 to 64 of letters, digits and +=,.@_-`,
      );
    }
    const [, account = "", roleName = ""] = match;
    const issuedAt = new Date(this.now());
    const principal: AssumedRolePrincipal = {
      kind: "assumed-role",
      arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`,
      account,
      roleArn,
      roleName,
      sessionName,
      userId: `${uniqueId("AROA", roleArn)}:${sessionName}`,
      issuedAt,
    };
    const credentials: SessionCredentials = {
      accessKeyId: accessKeyId("ASIA"),
      secretAccessKey: secret(),
      sessionToken: randomBytes(96).toString("base64"),
      expiration: new Date(issuedAt.getTime() + this.sessionDurationMs),
    };
    this.callers.set(credentials.accessKeyId, { principal, credentials });
    return credentials;
  }

  /** The principal and credentials behind an access key, if this store issued it (expired ones too). */
  lookup(accessKeyId: string): Caller | undefined {
    return this.callers.get(accessKeyId);
  }

  /** What a SigV4 verifier needs to check a signature made with `accessKeyId`. */
  secretFor(accessKeyId: string): SigningSecret | undefined {
    return this.lookup(accessKeyId)?.credentials;
  }
}

/** `AKIA`/`ASIA` + 16 characters of AWS's key alphabet. */
function accessKeyId(prefix: "AKIA" | "ASIA"): string {
  return `${prefix}${base32(randomBytes(10))}`;
}

function secret(): string {
  return randomBytes(30).toString("base64");
}

/** A stable unique ID (role ID, user ID) derived from what it names: the same role, the same ID. */
function uniqueId(prefix: "AROA" | "AIDA", of: string): string {
  return `${prefix}${base32(createHash("sha256").update(of).digest().subarray(0, 10))}`;
}

/** 10 bytes → 16 characters of A–Z and 2–7, the alphabet of AWS key and principal IDs. */
function base32(bytes: Buffer): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}
