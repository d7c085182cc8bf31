// The AWS adapter's errors (EC2 and Auto Scaling). `translate.ts` is the one place where SDK and
// network errors become them; the retryable ones say so.
import { EtcdAsgError } from "../../errors";

/** Base of every error the AWS adapter throws. */
export class AwsAdapterError extends EtcdAsgError {
  override readonly name: string = "AwsAdapterError";
}

/** AWS throttled the call (after the SDK's own retries). Retry later, with backoff. */
export class AwsThrottledError extends AwsAdapterError {
  override readonly name = "AwsThrottledError";
  constructor(message: string, cause: unknown) {
    super(message, { cause, retryable: true });
  }
}

/** AWS answered 5xx, or the network failed before an answer. The call may or may not have happened. */
export class AwsUnavailableError extends AwsAdapterError {
  override readonly name = "AwsUnavailableError";
  constructor(message: string, cause: unknown) {
    super(message, { cause, retryable: true });
  }
}

/** AWS refused the request (bad parameters, missing permission, unknown resource): retrying won't help. */
export class AwsRequestError extends AwsAdapterError {
  override readonly name = "AwsRequestError";
  constructor(
    message: string,
    /** The AWS error code, e.g. `ValidationError`, `AccessDenied`. */
    readonly code: string,
    cause: unknown,
  ) {
    super(message, { cause, retryable: false });
  }
}

/** EC2 has not assigned the instance a private IP yet: ask again later; this is not a failure. */
export class PrivateIpNotAssignedError extends AwsAdapterError {
  override readonly name = "PrivateIpNotAssignedError";
  constructor(readonly instanceId: string) {
    super(`instance ${instanceId} has no private IP yet`, { retryable: true });
  }
}

/** EC2 does not know the instance, or it is terminated: it will never have a usable IP. */
export class InstanceNotFoundError extends AwsAdapterError {
  override readonly name = "InstanceNotFoundError";
  constructor(
    message: string,
    readonly instanceId: string,
    cause?: unknown,
  ) {
    super(message, { cause, retryable: false });
  }
}

/** The group lists an instance that EC2 does not show yet (EC2 is eventually consistent). */
export class InstanceNotYetVisibleError extends AwsAdapterError {
  override readonly name = "InstanceNotYetVisibleError";
  constructor(readonly instanceIds: readonly string[]) {
    super(`EC2 does not show instance(s) ${instanceIds.join(", ")} of the group yet`, { retryable: true });
  }
}

export class AutoScalingGroupNotFoundError extends AwsAdapterError {
  override readonly name = "AutoScalingGroupNotFoundError";
  constructor(readonly groupName: string) {
    super(`Auto Scaling group ${groupName} does not exist (DescribeAutoScalingGroups returned nothing)`);
  }
}
