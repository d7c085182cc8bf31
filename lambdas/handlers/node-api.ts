// Lambda entry point: the node API behind a function URL with AWS_IAM auth (payload format 2.0).
import type { Context } from "aws-lambda";
import { createRuntime } from "../app/runtime";
import { handleNodeApi } from "../node-api/respond";

const runtime = createRuntime();

export const handler = (event: unknown, context: Context) => handleNodeApi(runtime, event, context);
