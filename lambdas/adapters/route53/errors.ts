// The Route 53 adapter's own errors. Throttling, a busy zone (PriorRequestNotComplete) and outages
// are the AWS adapter's retryable AwsThrottledError / AwsUnavailableError; these are the refusals
// that are Route 53's alone. `translate.ts` is the one place they are made.
import { AwsAdapterError } from "../aws/errors";

/** Route 53 refused the change batch (a DELETE that does not match, a name outside the zone, a bad
 * value…). Nothing was applied; the same batch will be refused again: re-read the zone first. */
export class InvalidChangeBatchError extends AwsAdapterError {
  override readonly name = "InvalidChangeBatchError";
  constructor(
    message: string,
    /** Route 53's reasons, one per refused change. */
    readonly messages: readonly string[],
    cause: unknown,
  ) {
    super(message, { cause, retryable: false });
  }
}

/** The hosted zone does not exist (or is not this account's): a configuration problem. */
export class HostedZoneNotFoundError extends AwsAdapterError {
  override readonly name = "HostedZoneNotFoundError";
  constructor(
    message: string,
    readonly hostedZoneId: string,
    cause: unknown,
  ) {
    super(message, { cause, retryable: false });
  }
}
