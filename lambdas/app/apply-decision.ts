// Applies one engine decision: the etcd change and the ledger records that go with it. A change
// etcd refuses for a passing reason (a voter not yet connected for 5 s, a learner not yet in sync,
// a second learner, an election under way) becomes a "wait" with etcd's reason instead of an error.
import {
  LearnerNotReadyError,
  NoLeaderError,
  TooManyLearnersError,
  UnhealthyClusterError,
} from "../adapters/etcd";
import type { LedgerContents } from "../adapters/ledger/ledger";
import type { Decision } from "../domain/decision";
import type { Snapshot } from "../domain/snapshot";
import { ClusterView } from "../domain/view";
import { etcdEndpoints, leaderUrl } from "./load-snapshot";
import type { Runtime } from "./ports";

export type Applied = { readonly done: true } | { readonly done: false; readonly wait: string };

const PASSING_REFUSALS = [UnhealthyClusterError, LearnerNotReadyError, TooManyLearnersError, NoLeaderError];

export async function applyDecision(
  rt: Runtime,
  decision: Decision,
  snapshot: Snapshot,
  ledger: LedgerContents,
): Promise<Applied> {
  if (decision.kind === "bootstrap") {
    await rt.ledger.fixCluster({
      token: decision.token,
      generation: 1,
      size: rt.config.policy.clusterSize,
      initialMembers: decision.initialMembers,
      state: "forming",
    });
    return { done: true };
  }
  const view = new ClusterView(snapshot);
  const etcd = rt.etcd(etcdEndpoints(rt, snapshot.instances, ledger), leaderUrl(snapshot));
  try {
    switch (decision.kind) {
      case "join": {
        if (decision.removeFirst !== undefined) {
          await etcd.remove(decision.removeFirst.id);
          await markRemoved(rt, ledger, view.ownerOf(decision.removeFirst));
        }
        // The intent is recorded first so the learner's ready timeout counts from the add. A join is
        // decided only while etcd lists no member for the node, so an add retried after a crashed
        // one starts the clock over: the node learns its configuration only now.
        await rt.ledger.setNodePhase(decision.add.name, { phase: "joining", restartClock: true }, rt.now());
        const added = await etcd.addLearner(decision.add.peerUrl);
        await rt.ledger.setNodePhase(decision.add.name, { phase: "joining", memberId: added.id }, rt.now());
        return { done: true };
      }
      case "promote": {
        await etcd.promote(decision.member.id);
        const owner = view.ownerOf(decision.member);
        if (owner !== undefined && ledger.nodes.some((n) => n.instanceId === owner)) {
          await rt.ledger.setNodePhase(owner, { phase: "member" }, rt.now());
        }
        return { done: true };
      }
      case "remove": {
        await etcd.remove(decision.member.id);
        await markRemoved(rt, ledger, view.ownerOf(decision.member));
        if (decision.abandon !== undefined) {
          rt.signals.lifecycleActionFailure(decision.abandon, decision.reason);
          await rt.group.complete(
            { hookName: rt.config.launchHookName, instanceId: decision.abandon },
            "ABANDON",
          );
        }
        return { done: true };
      }
      default:
        return { done: true };
    }
  } catch (error) {
    if (PASSING_REFUSALS.some((kind) => error instanceof kind)) {
      return { done: false, wait: `etcd refused for now: ${(error as Error).message}` };
    }
    throw error;
  } finally {
    etcd.close();
  }
}

async function markRemoved(
  rt: Runtime,
  ledger: LedgerContents,
  instanceId: string | undefined,
): Promise<void> {
  if (instanceId === undefined || !ledger.nodes.some((n) => n.instanceId === instanceId)) return;
  await rt.ledger.setNodePhase(instanceId, { phase: "removed" }, rt.now());
}
