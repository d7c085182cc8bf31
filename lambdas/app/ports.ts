// What the control plane needs from the outside world, as small interfaces: the Auto Scaling group,
// etcd and the clock. Runtime wires the real adapters in; tests wire the same adapters to local
// servers.

import type { Logger } from "@aws-lambda-powertools/logger";
import type { EtcdMembership } from "../adapters/etcd";
import type { EtcdMaintenance } from "../adapters/etcd/maintenance";
import type { Ledger } from "../adapters/ledger/ledger";
import type { MemberHealthLedger } from "../adapters/ledger/member-health";
import type { UpkeepRunLedger } from "../adapters/ledger/upkeep-runs";
import type { Config } from "../config";
import type { Instance } from "../domain/snapshot";
import type { UpkeepSignalsPort } from "./etcd-upkeep";
import type { HealthSignalsPort } from "./member-health";
import type { ControlPlanePki } from "./pki";

export type LifecycleResult = "CONTINUE" | "ABANDON";

export interface LifecycleTarget {
  readonly hookName: string;
  readonly instanceId: string;
  /** When absent the action is addressed by instance ID (a lost event left us no token). */
  readonly token?: string | undefined;
}

export interface GroupPort {
  /** The group's instances with lifecycle state, private IP and launch time. */
  instances(): Promise<Instance[]>;
  /** Completes the action; "already-done" when AWS has no active action for it any more. */
  complete(target: LifecycleTarget, result: LifecycleResult): Promise<"completed" | "already-done">;
  /** Restarts the action's heartbeat timeout; "not-active" when the action is already over. */
  heartbeat(target: LifecycleTarget): Promise<"recorded" | "not-active">;
  /** Sets the instance Unhealthy so the group terminates and replaces it. */
  markUnhealthy(instanceId: string): Promise<void>;
}

export interface Signals {
  /** A termination is held because removing its member would lose quorum. */
  quorumAtRisk(instanceId: string, reason: string): void;
  /** Members that do not match the group's instances, after a reconcile pass. */
  drift(count: number): void;
  lifecycleActionFailure(instanceId: string, reason: string): void;
  /** Health replacements and the health gauges of each reconcile pass. */
  readonly health: HealthSignalsPort;
  /** etcd's alarms and the upkeep steps taken or held. */
  readonly upkeep: UpkeepSignalsPort;
}

export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly ledger: Ledger;
  readonly group: GroupPort;
  /** A membership client over these client URLs (mutual TLS, as root); the caller closes it. */
  readonly etcd: (endpoints: readonly string[]) => EtcdMembership;
  /** A maintenance client (status, alarms, compaction, defragmentation) over these client URLs,
   * mutual TLS as root; the caller closes it. */
  readonly maintenance: (endpoints: readonly string[]) => EtcdMaintenance;
  /** The ledger's member-health items: sightings and the replacement in flight. */
  readonly memberHealth: MemberHealthLedger;
  /** The ledger's upkeep item: one run at a time, and NOSPACE recovery's progress. */
  readonly upkeepRuns: UpkeepRunLedger;
  /** The certificate authorities, the control plane's own identity, and issuance. */
  readonly pki: ControlPlanePki;
  readonly signals: Signals;
  readonly now: () => number;
  /** A fresh cluster token, drawn only when a decision may fix the initial cluster. */
  readonly newToken: () => string;
  /** Who this invocation is, as the membership lock's holder. */
  readonly actor: () => string;
  readonly sleep: (ms: number) => Promise<void>;
}
