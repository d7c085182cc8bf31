// The node API's warm-up: a node is launching (the launch rule's second target), so load now what
// its first requests need — the X.509 and KMS code, both certificate authorities, the control
// plane's own etcd identity, etcd's client code — while the instance boots, instead of on the node's
// critical path. Best effort: a failure is logged, and the first request loads what it needs.
import type { Context } from "aws-lambda";
import { loadEtcdClient } from "../adapters/etcd/endpoint";
import { forInvocation } from "./invocation";
import type { Runtime } from "./ports";

export interface WarmUpResult {
  readonly warmedUp: boolean;
  readonly ms: number;
}

export async function warmUp(
  base: Pick<Runtime, "logger" | "pki" | "now">,
  context: Pick<Context, "awsRequestId">,
): Promise<WarmUpResult> {
  const rt = forInvocation(base, context, {});
  const started = rt.now();
  try {
    await Promise.all([rt.pki.prepare(), loadEtcdClient()]);
    const ms = rt.now() - started;
    rt.logger.info("warmed up for a launching node", { ms });
    return { warmedUp: true, ms };
  } catch (error) {
    const ms = rt.now() - started;
    rt.logger.warn("warm-up failed; a node's first request loads what it needs", { error, ms });
    return { warmedUp: false, ms };
  }
}
