// Long polling for a node's configuration: a "wait" answer (and, for a node standing by for a slot,
// a "not-a-member" one) is held while nothing it depends on has moved in the ledger (registrations,
// the cluster record, node phases, the membership lock), and decided again as soon as something has,
// so a booting node learns its configuration the moment it is fixed instead of one backoff step
// later. Another actor's membership lock is waited for only briefly: a longer hold is watched here
// too. Reading the ledger costs one DynamoDB query; no AWS or etcd call is made while nothing moves.
import type { LedgerContents } from "../adapters/ledger/ledger";
import { launchNode } from "../app/launch-node";
import type { Runtime } from "../app/ports";
import type { NodeConfig } from "../domain/node-config";
import type { ClusterRecord } from "../domain/snapshot";

/** Half of it is, on average, between the ledger's move and the answer's decision. Each held request
 * reads the cluster's partition once per poll (20 queries a second), which DynamoDB prices at a
 * fraction of a cent for a recovery's whole wait. */
const LEDGER_POLL_MS = 50;
/** Another actor's membership lock is waited for this long (the lock poll's first steps: 20, 40 and
 * 80 ms), then the answer is held and the ledger watched for its release: a holder that stays (a
 * learner added once etcd's 5 s rule allows it) is seen gone within LEDGER_POLL_MS, where the lock
 * poll's steps grow to 250 ms. */
const LOCK_WAIT_MS = 150;

export interface AwaitOptions {
  readonly waitMs: number;
  readonly standby: boolean;
  readonly etcdVersion?: string;
  /** Called once when an answer is first held: work the answer may need can start during the wait. */
  readonly onHold?: () => void;
}

export interface AwaitedConfig {
  readonly config: NodeConfig;
  /** The cluster record the decision was made on (a recovered generation's restore source). */
  readonly cluster: ClusterRecord | undefined;
}

/** The node's configuration, decided now and again each time the ledger moves, until it is one the
 * caller does not wait past (not "wait"; with `standby`, not "not-a-member" either) or `waitMs` has
 * passed. */
export async function awaitConfig(
  rt: Runtime,
  instanceId: string,
  options: AwaitOptions,
): Promise<AwaitedConfig> {
  const deadline = rt.now() + options.waitMs;
  const held = (role: NodeConfig["role"]) => role === "wait" || (options.standby && role === "not-a-member");
  const { etcdVersion } = options;
  let moved: LedgerContents | undefined;
  for (;;) {
    // A re-decision on the reading that moved: on a ledger that holds the node as this request left
    // it, nothing is registered again and the ledger is not read again before deciding.
    const { outcome, config } = await launchNode(rt, instanceId, {
      etcdVersion,
      ledger: moved,
      lockWaitMs: LOCK_WAIT_MS,
    });
    const answer = { config, cluster: outcome.ledger.cluster };
    if (!held(config.role) || rt.now() >= deadline) return answer;
    if (moved === undefined) options.onHold?.();
    moved = await ledgerMoves(rt, fingerprint(outcome.ledger), deadline);
    if (moved === undefined) return answer;
  }
}

/** Polls the ledger until it differs from `seen` (its new contents) or the deadline passes (undefined). */
async function ledgerMoves(rt: Runtime, seen: string, deadline: number): Promise<LedgerContents | undefined> {
  while (rt.now() < deadline) {
    await rt.sleep(Math.min(LEDGER_POLL_MS, deadline - rt.now()));
    const contents = await rt.ledger.loadState();
    if (fingerprint(contents) !== seen) return contents;
  }
  return undefined;
}

/** What a decision reads from the ledger; a node's published answer and timestamps left out. */
function fingerprint(ledger: LedgerContents): string {
  const { cluster, lock } = ledger;
  const nodes = ledger.nodes.map((n) => `${n.instanceId}:${n.phase}:${n.memberId ?? ""}`).sort();
  return JSON.stringify([cluster?.token, cluster?.state, nodes, lock?.holder]);
}
