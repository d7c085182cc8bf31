// The one place where errors of the Route 53 SDK client become typed errors. Route 53's own refusals
// get their own classes; a zone still busy with an earlier change (PriorRequestNotComplete) is
// throttling by another name; everything else (Throttling, 5xx, the network, AccessDenied) is
// classified as for every AWS call.
import { AwsAdapterError, AwsThrottledError } from "../aws/errors";
import { translateAwsError } from "../aws/translate";
import { HostedZoneNotFoundError, InvalidChangeBatchError } from "./errors";

interface Route53ErrorFields {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly messages?: unknown;
}

/** `operation` names the call for the message; `hostedZoneId` the zone it was about. */
export function translateRoute53Error(
  error: unknown,
  operation: string,
  hostedZoneId: string,
): AwsAdapterError {
  if (error instanceof AwsAdapterError) return error;
  const fields: Route53ErrorFields = typeof error === "object" && error !== null ? error : {};
  const detail = typeof fields.message === "string" ? fields.message : String(error);
  switch (fields.name) {
    case "InvalidChangeBatch": {
      // The SDK fills `messages` when Route 53 lists them apart.
      const listed = Array.isArray(fields.messages)
        ? fields.messages.filter((m) => typeof m === "string")
        : [];
      return new InvalidChangeBatchError(
        `${operation} on ${hostedZoneId} refused: ${detail}`,
        // Route 53 lists them in the message, in brackets; they cannot be split apart reliably.
        listed.length > 0 ? listed : [detail.replace(/^\[([\s\S]*)\]$/, "$1")],
        error,
      );
    }
    case "PriorRequestNotComplete":
      return new AwsThrottledError(`${operation} on ${hostedZoneId}: ${detail}`, error);
    case "NoSuchHostedZone":
      return new HostedZoneNotFoundError(`${operation}: ${detail}`, hostedZoneId, error);
    default:
      return translateAwsError(error, `${operation} on ${hostedZoneId}`);
  }
}
