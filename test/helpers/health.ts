// Member-health fixtures shared by the decision's tests and the health pass's: a settled cluster
// with some members silent, and the sightings the ledger would hold for them.
import type { HealthSighting } from "../../lambdas/domain/member-health";
import type { Snapshot } from "../../lambdas/domain/snapshot";
import { healthyCluster, instanceId, NOW, withMember } from "./snapshots";

/** Member n's ID, as test/helpers/snapshots.ts numbers them. */
export const memberIdOf = (n: number): string => String(1000 + n);

/** A cluster whose members' nodes were promoted long ago (no warm-up left), with `down` not answering. */
export function clusterWithDown(size: number, ...down: number[]): Snapshot {
  let s = healthyCluster(size);
  s = {
    ...s,
    ledger: { ...s.ledger, nodes: s.ledger.nodes.map((r) => ({ ...r, phaseSince: NOW - 3_600_000 })) },
  };
  for (const n of down) s = withMember(s, n, { healthy: false });
  return s;
}

/** A sighting of member n silent since `silentFor` ago, last seen silent `lastSeen` ago. */
export function silentSighting(n: number, silentFor: number, lastSeen = 60_000): HealthSighting {
  return {
    instanceId: instanceId(n),
    memberId: memberIdOf(n),
    observedAt: NOW - lastSeen,
    unhealthySince: NOW - silentFor,
    lastUnhealthyAt: NOW - lastSeen,
    lastHealthyAt: NOW - silentFor - 60_000,
    lastSeenWithLeaderAt: NOW - silentFor - 60_000,
  };
}
