// Lambda entry point: the node API behind a function URL with AWS_IAM auth (payload format 2.0), and
// the launch rule's warm-up input (events/warm-up-event.ts) while a node boots.
import type { Context } from "aws-lambda";
import { createDurability } from "../app/durability-port";
import { createRuntime } from "../app/runtime";
import { warmUp } from "../app/warm-up";
import { isWarmUp } from "../events/warm-up-event";
import { handleNodeApi } from "../node-api/respond";

const runtime = createRuntime();
/** The snapshot bucket, for the presigned GET a node of a recovered generation restores from. */
const snapshots =
  runtime.config.durability.bucket === undefined ? undefined : createDurability(runtime).store;

export const handler = (event: unknown, context: Context) =>
  isWarmUp(event) ? warmUp(runtime, context) : handleNodeApi(runtime, event, context, snapshots);
