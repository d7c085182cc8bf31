// Lambda entry point: the reconciler, run on a schedule, on the maintenance schedule (scheduled
// defragmentation) and on demand (any event).
import type { Context } from "aws-lambda";
import { forInvocation } from "../app/invocation";
import { reconcile } from "../app/reconcile";
import { createRuntime } from "../app/runtime";
import { upkeepTrigger } from "../events/reconcile-event";

const runtime = createRuntime();
/** Left after the last upkeep step may start: the step's own bound (one defragmentation) and this. */
const REPORT_MARGIN_MS = 10_000;

export const handler = async (event: unknown, context: Context) => {
  const rt = forInvocation(runtime, context, {});
  const report = await reconcile(rt, {
    trigger: upkeepTrigger(event),
    deadline:
      rt.now() + context.getRemainingTimeInMillis() - rt.config.defragmentTimeoutMs - REPORT_MARGIN_MS,
  });
  rt.logger.info("reconcile pass", { ...report });
  return report;
};
