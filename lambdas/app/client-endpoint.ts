// The cluster's client name kept in step with etcd's started voters: its A records, the members' own
// names and etcd's SRV discovery records (domain/client-endpoint.ts decides them), after the ready
// flow promotes, after the terminate flow removes, and on every reconcile pass. Route 53 failing
// never fails the membership change that called this: it is logged, counted (ClientEndpointFailures)
// and left to the next reconcile pass.
//
// Two syncs may run at once (two nodes reporting ready, a reconcile pass beside a termination), each
// with the members it read, and the later write wins. So whoever writes checks its write against a
// member list read after it and writes again if that list says otherwise: the last writer always
// leaves the zone as etcd was after its write. A batch refused because another sync changed the zone
// first (a DELETE that no longer matches) is decided again on the zone as it is now.
import { InvalidChangeBatchError } from "../adapters/route53/errors";
import { decideClientEndpoint } from "../domain/client-endpoint";
import type { Member } from "../domain/snapshot";
import type { HostedZonePort, Runtime } from "./ports";

/** The records' TTL: what a resolver may keep answering with a removed member's address. */
export const CLIENT_RECORD_TTL_SECONDS = 10;

/** Read, decide, write: once, then once more per write that a newer member list contradicts. */
const MAX_ROUNDS = 3;

export interface ClientEndpointPorts {
  readonly name: string;
  readonly ttlSeconds: number;
  readonly zone: () => Promise<HostedZonePort>;
  /** etcd's members, read afresh through these client URLs. */
  readonly readMembers: (clientUrls: readonly string[]) => Promise<readonly Member[]>;
  readonly log: (message: string, details: Record<string, unknown>) => void;
  readonly failed: (reason: string) => void;
}

export type ClientEndpointOutcome =
  | "in-step"
  | "changed"
  /** No started voter: the zone keeps its last records. */
  | "kept"
  /** Route 53 or etcd failed; reported through `failed`. */
  | "failed";

/** Brings the zone in step with `members` (as the caller's flow just read them). Never throws. */
export async function syncClientEndpoint(
  ports: ClientEndpointPorts,
  members: readonly Member[],
): Promise<ClientEndpointOutcome> {
  let view = members;
  let changed = false;
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const zone = await ports.zone();
      const decision = decideClientEndpoint({
        name: ports.name,
        ttl: ports.ttlSeconds,
        members: view,
        current: await zone.recordSets(ports.name),
      });
      if (decision.kind === "keep") return "kept";
      if (decision.kind === "in-step") return changed ? "changed" : "in-step";
      try {
        const submitted = await zone.apply(decision.changes, decision.reason);
        changed = true;
        ports.log("client name records changed", {
          reason: decision.reason,
          changes: decision.changes.map((c) => `${c.action} ${c.recordSet.type} ${c.recordSet.name}`),
          changeId: submitted.id,
        });
      } catch (error) {
        if (!(error instanceof InvalidChangeBatchError)) throw error;
        ports.log("client name batch refused; deciding again on the zone as it is now", {
          messages: error.messages,
        });
        continue;
      }
      view = await ports.readMembers(clientUrls(view));
    }
    ports.failed(`${ports.name}: not in step after ${MAX_ROUNDS} rounds (members changing meanwhile)`);
    return "failed";
  } catch (error) {
    ports.failed(
      `${ports.name}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
    );
    return "failed";
  }
}

/** The flows' entry: a no-op when the stack keeps no client name. */
export async function keepClientEndpoint(
  rt: Runtime,
  members: readonly Member[],
): Promise<ClientEndpointOutcome | undefined> {
  const { clientEndpoint } = rt.config;
  const { hostedZone } = rt;
  if (clientEndpoint === undefined || hostedZone === undefined) return undefined;
  return syncClientEndpoint(
    {
      name: clientEndpoint.name,
      ttlSeconds: CLIENT_RECORD_TTL_SECONDS,
      zone: hostedZone,
      readMembers: async (urls) => {
        const etcd = rt.etcd(urls);
        try {
          return await etcd.readMembers();
        } finally {
          etcd.close();
        }
      },
      log: (message, details) => rt.logger.info(message, details),
      failed: (reason) => rt.signals.clientEndpointFailure(reason),
    },
    members,
  );
}

function clientUrls(members: readonly Member[]): string[] {
  return members.filter((m) => m.started).flatMap((m) => m.clientUrls.slice(0, 1));
}
