// One health pass of the reconciler (issue 16), not wired yet: decide from the pass's snapshot and
// the ledger's sightings, write what the pass saw, and when a voter is due, claim the replacement in
// the ledger and only then set its instance Unhealthy (the group terminates it through the terminate
// hook, which removes its member, and launches its successor). Two reconcilers deciding at once both
// write sightings; only the one whose claim wins calls SetInstanceHealth.
//
// The ports are narrow on purpose: the reconciler's runtime provides them (see the report that came
// with this file for the wiring), and tests give in-memory ones.
import type { ReplacementRecord, SightingChange } from "../domain/member-health";
import {
  decideMemberHealth,
  type HealthDecision,
  type HealthPolicy,
  type HealthSighting,
  healthSignals,
  type StatusReport,
} from "../domain/member-health";
import type { Snapshot } from "../domain/snapshot";

export interface HealthLedgerPort {
  load(): Promise<{
    readonly sightings: readonly HealthSighting[];
    readonly replacement: ReplacementRecord | undefined;
  }>;
  applySightings(changes: readonly SightingChange[]): Promise<void>;
  startReplacement(
    record: ReplacementRecord,
  ): Promise<{ readonly started: boolean; readonly current: ReplacementRecord | undefined }>;
  finishReplacement(record: ReplacementRecord): Promise<boolean>;
}

export interface HealthSignalsPort {
  /** A replacement was requested: metric HealthReplacements +1 and a warn line with the reason. */
  replacementRequested(instanceId: string, reason: string, retry: boolean): void;
  /** Every pass: gauges UnhealthyMembers (silent voters) and HealthQuorumView (1 or 0). */
  gauges(silentVoters: number, quorumView: boolean): void;
}

export interface HealthPorts {
  readonly ledger: HealthLedgerPort;
  /** SetInstanceHealth Unhealthy, ShouldRespectGracePeriod false (GroupPort.markUnhealthy). */
  readonly markUnhealthy: (instanceId: string) => Promise<void>;
  readonly signals: HealthSignalsPort;
  readonly log: (message: string, details: Record<string, unknown>) => void;
}

export interface HealthPassInput {
  /** The reconcile pass's snapshot (after its membership repairs). */
  readonly snapshot: Snapshot;
  /** The Maintenance.Status answers of the same pass (memberId, leaderId). */
  readonly reports: readonly StatusReport[];
  /** Instances DescribeAutoScalingGroups shows with HealthStatus Unhealthy. */
  readonly markedUnhealthy: readonly string[];
  readonly policy: HealthPolicy;
}

export interface HealthPassOutcome {
  readonly decision: HealthDecision;
  /** The instance set Unhealthy by this pass, if any. */
  readonly replaced: string | undefined;
}

export async function runMemberHealth(ports: HealthPorts, pass: HealthPassInput): Promise<HealthPassOutcome> {
  const stored = await ports.ledger.load();
  const input = { ...pass, sightings: stored.sightings, replacement: stored.replacement };
  const gauges = healthSignals(input);
  ports.signals.gauges(gauges.silentVoters, gauges.quorumView);
  const decision = decideMemberHealth(input);
  ports.log("member health", { decision: decision.kind, reason: decision.reason });
  if (decision.kind === "nothing") return { decision, replaced: undefined };
  await ports.ledger.applySightings(decision.sightings);
  if (decision.finished !== undefined) await ports.ledger.finishReplacement(decision.finished);
  if (decision.kind === "record") return { decision, replaced: undefined };

  const claim = await ports.ledger.startReplacement(decision.replacement);
  if (!claim.started) {
    ports.log("replacement not started: another is in flight", {
      instanceId: decision.instanceId,
      inFlight: claim.current,
    });
    return { decision, replaced: undefined };
  }
  await ports.markUnhealthy(decision.instanceId);
  ports.signals.replacementRequested(decision.instanceId, decision.reason, decision.retry);
  return { decision, replaced: decision.instanceId };
}
