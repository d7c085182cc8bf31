// Lambda entry point: the reconciler, run on a schedule (a reconcile pass), on the maintenance
// schedule (scheduled defragmentation) and on demand by operators (`etcd-asg reconcile` /
// `etcd-asg status`): `{"operation": "reconcile"}` or `{"operation": "status"}`; an event without an
// operation is a reconcile pass.
import type { Context } from "aws-lambda";
import { readClusterStatus } from "../app/cluster-status";
import { createDurability } from "../app/durability-port";
import { forInvocation } from "../app/invocation";
import { reconcile } from "../app/reconcile";
import { createRuntime } from "../app/runtime";
import { EtcdAsgError } from "../errors";
import { upkeepTrigger } from "../events/reconcile-event";

const runtime = createRuntime();
/** The recovery step needs the snapshot function (to copy a survivor): without it, none runs. */
const durability =
  runtime.config.durability.snapshotFunctionName === undefined ? undefined : createDurability(runtime);
const OPERATIONS = ["reconcile", "status"] as const;
/** Left after the last upkeep step may start: the step's own bound (one defragmentation) and this. */
const REPORT_MARGIN_MS = 10_000;

export class UnknownOperationError extends EtcdAsgError {
  override readonly name = "UnknownOperationError";
}

export const handler = async (event: unknown, context: Context) => {
  const rt = forInvocation(runtime, context, {});
  const operation = operationOf(event);
  if (operation === "status") return readClusterStatus(rt);
  const report = await reconcile(
    rt,
    {
      trigger: upkeepTrigger(event),
      deadline:
        rt.now() + context.getRemainingTimeInMillis() - rt.config.defragmentTimeoutMs - REPORT_MARGIN_MS,
    },
    durability,
  );
  rt.logger.info("reconcile pass", { ...report });
  return report;
};

function operationOf(event: unknown): (typeof OPERATIONS)[number] {
  const operation =
    typeof event === "object" && event !== null ? (event as { operation?: unknown }).operation : undefined;
  if (operation === undefined) return "reconcile";
  const known = OPERATIONS.find((o) => o === operation);
  if (known === undefined) {
    throw new UnknownOperationError(
      `unknown operation ${JSON.stringify(operation)}: the reconciler runs ${OPERATIONS.join(" or ")}`,
    );
  }
  return known;
}
