// Lambda entry point: a user's etcd client certificate, invoked directly (IAM lambda:InvokeFunction).
import type { Context } from "aws-lambda";
import { clientCertificate } from "../app/client-certificate";
import { forInvocation } from "../app/invocation";
import { createRuntime } from "../app/runtime";

const runtime = createRuntime();

export const handler = (event: unknown, context: Context) =>
  clientCertificate(forInvocation(runtime, context, {}), event);
