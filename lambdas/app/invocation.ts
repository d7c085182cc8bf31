// Per-invocation context: a child logger carrying the invocation's keys, and the lock holder name
// (the request ID, unique per invocation). Handlers call this first, with the runtime (app/runtime.ts)
// or, where that is all the handler builds, its base (app/runtime-base.ts).
import type { Context } from "aws-lambda";
import type { Runtime } from "./ports";

export function forInvocation<R extends Pick<Runtime, "logger">>(
  rt: R,
  context: Pick<Context, "awsRequestId">,
  keys: Record<string, string>,
): R & Pick<Runtime, "actor"> {
  const logger = rt.logger.createChild();
  logger.appendKeys({ ...keys, requestId: context.awsRequestId });
  return { ...rt, logger, actor: () => context.awsRequestId };
}
