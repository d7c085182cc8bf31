// Lambda entry point: the snapshot function. Its schedule's "Scheduled Event" takes a snapshot when
// one is due; operators (`etcd-asg snapshot` / `snapshots` / `restore`) send `{"operation": ...}`;
// the control plane sends a SnapshotRequest (app/ports.ts): a trigger, or a surviving member to copy.
import type { Context } from "aws-lambda";
import { createDurability } from "../app/durability-port";
import { forInvocation } from "../app/invocation";
import type { SnapshotRequest } from "../app/ports";
import { createRuntime } from "../app/runtime";
import { copySurvivor, listSnapshots, takeSnapshotIfDue } from "../app/snapshots";
import { SNAPSHOT_TRIGGERS } from "../domain/snapshot-schedule";
import { EtcdAsgError } from "../errors";

const runtime = createRuntime();
const durability = createDurability(runtime);

export class UnknownSnapshotRequestError extends EtcdAsgError {
  override readonly name = "UnknownSnapshotRequestError";
}

/** An operator's snapshot that could not be taken: the reason says why. */
export class SnapshotNotTakenError extends EtcdAsgError {
  override readonly name = "SnapshotNotTakenError";
}

/** `etcd-asg restore` before the control plane can carry a restore out. */
export class RestoreNotWiredError extends EtcdAsgError {
  override readonly name = "RestoreNotWiredError";
}

export const handler = async (event: unknown, context: Context) => {
  const rt = forInvocation(runtime, context, {});
  const deadline = Date.now() + context.getRemainingTimeInMillis();
  const request = requestOf(event);
  if ("action" in request) return listSnapshots(rt, durability);
  if (request.trigger === "copy-survivor") {
    const { instanceId, memberId, revision } = request;
    return copySurvivor(rt, durability, { instanceId, memberId, revision }, deadline);
  }
  const outcome = await takeSnapshotIfDue(rt, durability, request.trigger, deadline);
  rt.logger.info("snapshot run", {
    trigger: request.trigger,
    outcome: outcome.outcome,
    reason: outcome.reason,
  });
  if (outcome.outcome !== "taken") {
    if (request.trigger === "on-demand")
      throw new SnapshotNotTakenError(`no snapshot taken: ${outcome.reason}`);
    return outcome;
  }
  return { ...outcome, key: outcome.snapshot.key };
};

/** What the event asks for; an operator's restore is refused with the reason. */
function requestOf(event: unknown): SnapshotRequest {
  const fields = typeof event === "object" && event !== null ? (event as Record<string, unknown>) : {};
  if (fields["detail-type"] === "Scheduled Event") return { trigger: "schedule" };
  switch (fields.operation) {
    case "snapshot":
      return { trigger: "on-demand" };
    case "list":
      return { action: "list" };
    case "restore":
      throw new RestoreNotWiredError(
        `restoring ${JSON.stringify(fields.key)} is not wired in this version: the reconciler does not yet ` +
          "run the recovery step and nodes cannot yet restore a snapshot (docs/disaster-recovery.md). " +
          "Restore by hand with `etcdutl snapshot restore` (etcdctl on 3.4) from the object `etcd-asg snapshots` lists",
      );
    case undefined:
      break;
    default:
      throw new UnknownSnapshotRequestError(
        `unknown operation ${JSON.stringify(fields.operation)}: the snapshot function runs snapshot, list or restore`,
      );
  }
  const trigger = SNAPSHOT_TRIGGERS.find((t) => t === fields.trigger);
  if (trigger !== undefined) return { trigger };
  if (fields.action === "list") return { action: "list" };
  if (fields.trigger === "copy-survivor") {
    const { instanceId, memberId, revision } = fields;
    if (typeof instanceId === "string" && typeof memberId === "string" && typeof revision === "number") {
      return { trigger: "copy-survivor", instanceId, memberId, revision };
    }
    throw new UnknownSnapshotRequestError(
      "copy-survivor needs instanceId and memberId (strings) and revision (a number); received " +
        JSON.stringify(event),
    );
  }
  throw new UnknownSnapshotRequestError(
    `not a snapshot request: ${JSON.stringify(event)} (expected {"operation": "snapshot" | "list" | "restore"}, ` +
      `a SnapshotRequest, or a Scheduled Event)`,
  );
}
