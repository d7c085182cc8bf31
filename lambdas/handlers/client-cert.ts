// Lambda entry point: a user's etcd client certificate, invoked directly (IAM lambda:InvokeFunction).
// It needs the ledger and the PKI only: the runtime's base, without the Auto Scaling, EC2 and etcd
// clients the other functions build at init.
import type { Context } from "aws-lambda";
import { clientCertificate } from "../app/client-certificate";
import { forInvocation } from "../app/invocation";
import { createRuntimeBase } from "../app/runtime-base";

const runtime = createRuntimeBase();

export const handler = (event: unknown, context: Context) =>
  clientCertificate(forInvocation(runtime, context, {}), event);
