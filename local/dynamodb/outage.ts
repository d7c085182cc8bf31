// A DynamoDB outage the simulator can switch on for a while (chaos's ledger-outage): every request
// to the endpoint is answered as DynamoDB answers when it cannot serve it, before the IAM gate or
// dynalite see it. `unavailable` is the service failing (HTTP 500 InternalServerError, which the SDK
// retries as a transient error); `throttled` is the table refusing the request rate (HTTP 400
// ProvisionedThroughputExceededException, which the SDK retries as throttling). Nothing reaches the
// table while it is on, so no write is half made.
import { randomUUID } from "node:crypto";
import type { GateResponse } from "../iam/front";

export type DynamoDbOutageMode = "unavailable" | "throttled";

const ANSWERS: Record<DynamoDbOutageMode, { status: number; type: string; message: string }> = {
  unavailable: {
    status: 500,
    type: "com.amazonaws.dynamodb.v20120810#InternalServerError",
    message: "Internal server error",
  },
  throttled: {
    status: 400,
    type: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    message:
      "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
  },
};

export class DynamoDbOutage {
  private mode: DynamoDbOutageMode | undefined;
  /** Requests answered with the outage's error since the simulator started. */
  refused = 0;

  /** Every request from now on is refused as `mode` says, until end(). */
  begin(mode: DynamoDbOutageMode): void {
    this.mode = mode;
  }

  end(): void {
    this.mode = undefined;
  }

  get active(): DynamoDbOutageMode | undefined {
    return this.mode;
  }

  /** The outage's answer to a request, or undefined to serve it as usual. */
  answer(): GateResponse | undefined {
    if (this.mode === undefined) return undefined;
    this.refused += 1;
    const { status, type, message } = ANSWERS[this.mode];
    return {
      status,
      headers: { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": randomUUID() },
      body: JSON.stringify({ __type: type, message }),
    };
  }
}
