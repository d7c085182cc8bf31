// Lambda entry point: the snapshot function. Its schedule's "Scheduled Event" takes a snapshot when
// one is due; operators (`etcd-asg snapshot` / `snapshots` / `restore`) send `{"operation": ...}`;
// the control plane sends a SnapshotRequest (app/ports.ts): a trigger, or a surviving member to copy.
import type { Context } from "aws-lambda";
import { createDurability } from "../app/durability-port";
import { forInvocation } from "../app/invocation";
import { requestRestore } from "../app/operator-restore";
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

/** An operator's restore of the snapshot under `key`. */
interface RestoreOperation {
  readonly restore: string;
}

export const handler = async (event: unknown, context: Context) => {
  const rt = forInvocation(runtime, context, {});
  const deadline = Date.now() + context.getRemainingTimeInMillis();
  const request = requestOf(event);
  if ("restore" in request) return requestRestore(rt, durability, request.restore);
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

/** What the event asks for. */
function requestOf(event: unknown): SnapshotRequest | RestoreOperation {
  const fields = typeof event === "object" && event !== null ? (event as Record<string, unknown>) : {};
  if (fields["detail-type"] === "Scheduled Event") return { trigger: "schedule" };
  switch (fields.operation) {
    case "snapshot":
      return { trigger: "on-demand" };
    case "list":
      return { action: "list" };
    case "restore":
      if (typeof fields.key === "string" && fields.key.length > 0) return { restore: fields.key };
      throw new UnknownSnapshotRequestError(
        `restore needs the snapshot's key as "key" (a non-empty string, as \`etcd-asg snapshots\` lists it); received ${JSON.stringify(fields.key)}`,
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
