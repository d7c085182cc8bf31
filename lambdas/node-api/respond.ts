// Turns the node API's outcomes and errors into HTTP answers the boot script understands:
// 2xx answers, 202 "ask again", 4xx "your request is wrong" (the script stops), 503 "retry".
import type { Context } from "aws-lambda";
import type { SnapshotStore } from "../adapters/snapshots";
import { forInvocation } from "../app/invocation";
import { NoPrivateIpYetError, UnknownInstanceError } from "../app/launch-node";
import type { Runtime } from "../app/ports";
import { isRetryable } from "../errors";
import { CsrRejectedError } from "../pki/errors";
import { IdentityRefusedError } from "./identity";
import { safeValue } from "./render";
import { BadRequestError, parseNodeRequest } from "./request";
import { type HttpResponse, serveNodeRequest, text } from "./serve";

export async function handleNodeApi(
  base: Runtime,
  event: unknown,
  context: Pick<Context, "awsRequestId">,
  snapshots?: () => Promise<SnapshotStore>,
): Promise<HttpResponse> {
  const rt = forInvocation(base, context, {});
  try {
    return await serveNodeRequest(rt, parseNodeRequest(event), snapshots);
  } catch (error) {
    return failure(rt, error);
  }
}

function failure(rt: Runtime, error: unknown): HttpResponse {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof BadRequestError) return refused(rt, error.status, message);
  if (error instanceof CsrRejectedError) return refused(rt, 400, message);
  if (error instanceof IdentityRefusedError) return refused(rt, 403, message);
  if (error instanceof UnknownInstanceError) return refused(rt, 404, message);
  if (error instanceof NoPrivateIpYetError) {
    return text(202, `ETCD_ASG_DECISION="wait"\nETCD_ASG_REASON="${safeValue(message)}"\n`);
  }
  if (isRetryable(error)) {
    rt.logger.warn("node API request failed; the node retries", { error });
    return {
      ...text(503, `${safeValue(message)}\n`),
      headers: { "content-type": "text/plain", "retry-after": "1" },
    };
  }
  rt.logger.error("node API request failed", { error });
  return text(500, "internal error; see the control plane's logs\n");
}

function refused(rt: Runtime, status: number, message: string): HttpResponse {
  rt.logger.error("node API request refused", { status, reason: message });
  return text(status, `${safeValue(message)}\n`);
}
