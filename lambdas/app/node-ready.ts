// A node's etcd answers: promote its learner once etcd says it is in sync, turn etcd authentication
// on and mark the cluster running after its first ready member, let the instance go in service
// (CONTINUE), and then bring the client name's records in step with the voters.
import type { Decision } from "../domain/decision";
import type { Snapshot } from "../domain/snapshot";
import { changeMembership } from "./change-membership";
import { keepClientEndpoint } from "./client-endpoint";
import { leaderUrl } from "./load-snapshot";
import type { Runtime } from "./ports";
import { publish } from "./publish";

export type ReadyResult =
  | { readonly status: "member"; readonly reason: string }
  | { readonly status: "waiting"; readonly reason: string }
  | { readonly status: "refused"; readonly reason: string };

export async function nodeReady(rt: Runtime, instanceId: string): Promise<ReadyResult> {
  const outcome = await changeMembership(rt, { event: "ready", instanceId });
  const { decision, snapshot } = outcome;
  if (decision.kind !== "settled") return notYet(decision);
  const cluster = snapshot.ledger.cluster;
  if (cluster?.state === "forming") {
    // Before the cluster counts as running, so a failure here is retried by the next ready report.
    await enableAuth(rt, snapshot);
    await rt.ledger.markClusterRunning(cluster.generation);
  }
  const running = cluster === undefined ? outcome : { ...outcome, snapshot: withRunning(outcome.snapshot) };
  await publish(rt, instanceId, running);
  await rt.group.complete({ hookName: rt.config.launchHookName, instanceId }, "CONTINUE");
  // After the completion, which it must not delay; never throws.
  await keepClientEndpoint(rt, snapshot.members);
  return { status: "member", reason: decision.reason };
}

/** etcd authentication on, the control plane (its certificate's CN) as root. */
async function enableAuth(rt: Runtime, snapshot: Snapshot): Promise<void> {
  const endpoints = snapshot.members.filter((m) => m.healthy).flatMap((m) => m.clientUrls.slice(0, 1));
  const etcd = rt.etcd(endpoints, leaderUrl(snapshot));
  try {
    await etcd.enableAuth();
    rt.logger.info("etcd authentication enabled; the control plane is its root user");
  } finally {
    etcd.close();
  }
}

function notYet(decision: Decision): ReadyResult {
  if (decision.kind === "wait") return { status: "waiting", reason: decision.reason };
  return { status: "refused", reason: decision.reason };
}

function withRunning(snapshot: Snapshot): Snapshot {
  const cluster = snapshot.ledger.cluster;
  if (cluster === undefined) return snapshot;
  return { ...snapshot, ledger: { ...snapshot.ledger, cluster: { ...cluster, state: "running" } } };
}
