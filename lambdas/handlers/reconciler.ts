// Lambda entry point: the reconciler, run on a schedule and on demand (any event).
import type { Context } from "aws-lambda";
import { forInvocation } from "../app/invocation";
import { reconcile } from "../app/reconcile";
import { createRuntime } from "../app/runtime";

const runtime = createRuntime();

export const handler = async (_event: unknown, context: Context) => {
  const rt = forInvocation(runtime, context, {});
  const report = await reconcile(rt);
  rt.logger.info("reconcile pass", { ...report });
  return report;
};
