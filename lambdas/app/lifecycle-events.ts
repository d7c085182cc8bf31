// The lifecycle-hook handlers' shared straight line: parse and check the event (bad input is
// logged once and changes nothing), skip an action already finished, run the flow, remember the
// token once the action is complete. A flow that fails for a passing reason (the membership lock
// held by a holder that crashed until its lease runs out, etcd or AWS unavailable) records a
// heartbeat on its action before the error goes back for Lambda's retry: the action waits for the
// retry or the reconciler's next pass instead of timing out into its DefaultResult.
import type { Context } from "aws-lambda";
import { isRetryable } from "../errors";
import { type HookKind, InvalidEventError, parseLifecycleEvent } from "../events/lifecycle-event";
import { forInvocation } from "./invocation";
import { launchNode, UnknownInstanceError } from "./launch-node";
import type { LifecycleTarget, Runtime } from "./ports";
import { terminateNode } from "./terminate-node";

export type LifecycleHandled =
  | { readonly status: "rejected"; readonly reason: string }
  | { readonly status: "ignored"; readonly reason: string }
  | { readonly status: "duplicate"; readonly outcome: string }
  | { readonly status: "pending" | "completed" | "held"; readonly reason: string };

const TOKEN_TTL_SECONDS = 7 * 24 * 3600;

export async function handleLifecycleEvent(
  base: Runtime,
  kind: HookKind,
  event: unknown,
  context: Pick<Context, "awsRequestId">,
): Promise<LifecycleHandled> {
  const { config } = base;
  const hookName = kind === "launch" ? config.launchHookName : config.terminateHookName;
  let parsed: ReturnType<typeof parseLifecycleEvent>;
  try {
    parsed = parseLifecycleEvent(event, { kind, asgName: config.asgName, hookName });
  } catch (error) {
    if (!(error instanceof InvalidEventError)) throw error;
    base.logger.error("rejected lifecycle event", { error: error.message });
    return { status: "rejected", reason: error.message };
  }
  const { action } = parsed;
  const rt = forInvocation(base, context, {
    instanceId: action.instanceId,
    lifecycleHookName: action.hookName,
  });
  if (!parsed.act) {
    rt.logger.info("ignored lifecycle event", { reason: parsed.reason });
    return { status: "ignored", reason: parsed.reason };
  }
  const target = { hookName: action.hookName, instanceId: action.instanceId, token: action.token };
  // Both hooks read the group first, and a launch the node's record too: asked now, they come while
  // the ledger answers the token (one round trip fewer on every terminate, two on every launch; a
  // duplicate event wastes them). A failure surfaces in the flow, as before (the record's read is
  // made again there); unawaited when the token read fails or says duplicate.
  const group = rt.group.instances();
  group.catch(() => undefined);
  const record = kind === "launch" ? rt.ledger.getNode(action.instanceId) : undefined;
  record?.catch(() => undefined);
  // Kept alive too: a ledger down at this first read must not leave the action to its DefaultResult
  // (chaos seed 16025: a terminate action timed out into CONTINUE with its member still a voter).
  const seen = await keptAlive(rt, target, () => rt.ledger.tokenOutcome(action.token));
  if (seen !== undefined) {
    rt.logger.info("lifecycle action already handled", { outcome: seen });
    return { status: "duplicate", outcome: seen };
  }
  if (kind === "launch") {
    let launched: Awaited<ReturnType<typeof launchNode>>;
    try {
      launched = await keptAlive(rt, target, () =>
        launchNode(rt, action.instanceId, { token: action.token, reading: group, record }),
      );
    } catch (error) {
      // A terminate event handled first (reordering) or a scale-in may have removed it already.
      if (!(error instanceof UnknownInstanceError)) throw error;
      rt.logger.info("instance left the group before its launch was handled", { reason: error.message });
      return { status: "ignored", reason: error.message };
    }
    const published = launched.config;
    rt.logger.info("launch handled", { role: published.role, reason: published.reason });
    if (published.role === "wait") return { status: "pending", reason: published.reason };
    await rt.ledger.markTokenProcessed(action.token, published.role, rt.now(), TOKEN_TTL_SECONDS);
    return { status: published.role === "not-a-member" ? "completed" : "pending", reason: published.reason };
  }
  let result: Awaited<ReturnType<typeof terminateNode>>;
  try {
    result = await keptAlive(rt, target, () =>
      terminateNode(rt, action.instanceId, { token: action.token, reading: group }),
    );
  } catch (error) {
    if (!(error instanceof UnknownInstanceError)) throw error;
    rt.logger.error("rejected lifecycle event", { error: error.message });
    return { status: "rejected", reason: error.message };
  }
  rt.logger.info("terminate handled", { ...result });
  if (result.status === "completed") {
    await rt.ledger.markTokenProcessed(action.token, "removed", rt.now(), TOKEN_TTL_SECONDS);
  }
  return result;
}

/** Runs `flow`; when it fails with a retryable error, records a heartbeat on the action first. */
async function keptAlive<T>(rt: Runtime, target: LifecycleTarget, flow: () => Promise<T>): Promise<T> {
  try {
    return await flow();
  } catch (error) {
    if (isRetryable(error)) {
      await rt.group.heartbeat(target).then(
        (heartbeat) => rt.logger.warn("failed for now; the action waits for a retry", { error, heartbeat }),
        (failure: unknown) => rt.logger.warn("failed for now, and so did the heartbeat", { error, failure }),
      );
    }
    throw error;
  }
}
