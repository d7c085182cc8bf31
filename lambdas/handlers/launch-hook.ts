// Lambda entry point: EventBridge "EC2 Instance-launch Lifecycle Action" for this group.
import type { Context } from "aws-lambda";
import { handleLifecycleEvent } from "../app/lifecycle-events";
import { createRuntime } from "../app/runtime";

const runtime = createRuntime();

export const handler = (event: unknown, context: Context) =>
  handleLifecycleEvent(runtime, "launch", event, context);
