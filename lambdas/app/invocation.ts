// Per-invocation context: a child logger carrying the invocation's keys, and the lock holder name
// (the request ID, unique per invocation). Handlers call this first.
import type { Context } from "aws-lambda";
import type { Runtime } from "./ports";

export function forInvocation(
  rt: Runtime,
  context: Pick<Context, "awsRequestId">,
  keys: Record<string, string>,
): Runtime {
  const logger = rt.logger.createChild();
  logger.appendKeys({ ...keys, requestId: context.awsRequestId });
  return { ...rt, logger, actor: () => context.awsRequestId };
}
