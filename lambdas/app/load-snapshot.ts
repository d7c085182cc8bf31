// Takes one snapshot for the engine: the group's instances, the ledger, and etcd's members with
// their health, read through the client URLs of the nodes the ledger says run etcd.
import type { LedgerContents } from "../adapters/ledger/ledger";
import { readsMembers } from "../domain/engine";
import type { Instance, Member, Snapshot, Subject } from "../domain/snapshot";
import { clientUrlOf } from "../domain/urls";
import { isLive } from "../domain/view";
import { isRetryable } from "../errors";
import type { Runtime } from "./ports";

export interface LoadedSnapshot {
  readonly snapshot: Snapshot;
  readonly ledger: LedgerContents;
}

/** The group as read, or as being read. */
export type GroupReading = readonly Instance[] | Promise<readonly Instance[]>;

const RUNS_ETCD = new Set(["bootstrapping", "joining", "member"]);

/** `instances`, when given, is a reading of the group this invocation already made (or is making:
 * the ledger is read meanwhile): the group changes only by Auto Scaling's actions, not by the
 * membership changes the invocation makes. `ledger`, when given, is a reading of the ledger this
 * invocation has just made and written nothing after: it is not read again. */
export async function loadSnapshot(
  rt: Runtime,
  subject: Subject,
  instances?: GroupReading,
  ledger?: LedgerContents,
): Promise<LoadedSnapshot> {
  const [group, contents] = await Promise.all([
    instances ?? rt.group.instances(),
    ledger ?? rt.ledger.loadState(),
  ]);
  const members = readsMembers(subject, contents.cluster)
    ? await readMembers(rt, etcdEndpoints(rt, group, contents))
    : [];
  const snapshot: Snapshot = {
    policy: rt.config.policy,
    subject,
    instances: group,
    members,
    ledger: contents,
    now: rt.now(),
    actor: rt.actor(),
    proposedToken: rt.newToken(),
  };
  return { snapshot, ledger: contents };
}

/** Client URLs of live instances whose node runs etcd; all live instances when none is known yet. */
export function etcdEndpoints(rt: Runtime, instances: readonly Instance[], ledger: LedgerContents): string[] {
  const live = instances.filter((i) => isLive(i) && i.privateIp !== undefined);
  const running = live.filter((i) =>
    RUNS_ETCD.has(ledger.nodes.find((n) => n.instanceId === i.id)?.phase ?? ""),
  );
  const chosen = running.length > 0 ? running : live;
  return chosen.map((i) => clientUrlOf(rt.config.policy, i.privateIp as string));
}

/** The client URL of the member the snapshot found to be etcd's leader: a change goes there without
 * probing every member again. */
export function leaderUrl(snapshot: Snapshot): string | undefined {
  return snapshot.members.find((m) => m.leader === true)?.clientUrls[0];
}

/** etcd's members; none when no endpoint answers (the engine then waits rather than guessing). */
async function readMembers(rt: Runtime, endpoints: readonly string[]): Promise<Member[]> {
  if (endpoints.length === 0) return [];
  const etcd = rt.etcd(endpoints);
  try {
    return await etcd.readMembers();
  } catch (error) {
    if (!isRetryable(error)) throw error;
    rt.logger.warn("no etcd member answered", { endpoints, error });
    return [];
  } finally {
    etcd.close();
  }
}
