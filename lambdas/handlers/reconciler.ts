// Lambda entry point: the reconciler, run on a schedule (a reconcile pass) and on demand by operators
// (`etcd-asg reconcile` / `etcd-asg status`): `{"operation": "reconcile"}` or `{"operation": "status"}`;
// an event without an operation (the schedule's) is a reconcile pass.
import type { Context } from "aws-lambda";
import { readClusterStatus } from "../app/cluster-status";
import { forInvocation } from "../app/invocation";
import { reconcile } from "../app/reconcile";
import { createRuntime } from "../app/runtime";
import { EtcdAsgError } from "../errors";

const runtime = createRuntime();
const OPERATIONS = ["reconcile", "status"] as const;

export class UnknownOperationError extends EtcdAsgError {
  override readonly name = "UnknownOperationError";
}

export const handler = async (event: unknown, context: Context) => {
  const rt = forInvocation(runtime, context, {});
  const operation = operationOf(event);
  if (operation === "status") return readClusterStatus(rt);
  const report = await reconcile(rt);
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
