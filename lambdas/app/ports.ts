// What the control plane needs from the outside world, as small interfaces: the Auto Scaling group,
// etcd and the clock. Runtime wires the real adapters in; tests wire the same adapters to local
// servers.

import type { Logger } from "@aws-lambda-powertools/logger";
import type { EtcdMembership } from "../adapters/etcd";
import type { EtcdMaintenance } from "../adapters/etcd/maintenance";
import type { DurabilityLedger } from "../adapters/ledger/durability";
import type { Ledger } from "../adapters/ledger/ledger";
import type { MemberHealthLedger } from "../adapters/ledger/member-health";
import type { UpkeepRunLedger } from "../adapters/ledger/upkeep-runs";
import type { SnapshotStore } from "../adapters/snapshots";
import type { Config } from "../config";
import type { RecordChange, RecordSet } from "../domain/client-endpoint";
import type { RecordedSighting } from "../domain/quorum-loss";
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

/** The cluster's private hosted zone (HostedZoneAdapter): the records the client name needs. */
export interface HostedZonePort {
  /** The simple record sets at `name` and under it. */
  recordSets(name: string): Promise<RecordSet[]>;
  /** One atomic batch; throws InvalidChangeBatchError when Route 53 refuses it. */
  apply(changes: readonly RecordChange[], comment?: string): Promise<{ readonly id: string }>;
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
  /** The client name's records could not be brought in step (the next reconcile pass tries again). */
  clientEndpointFailure(reason: string): void;
  /** How old the latest snapshot is (a gauge each time the snapshot function runs). */
  snapshotAge(ageMs: number): void;
  /** A snapshot that was due could not be taken (no source, etcd or S3 failed). */
  snapshotFailure(reason: string): void;
  /** A reconcile pass found quorum lost for good. */
  quorumLost(reason: string): void;
  /** Recovery waits for an operator: manual mode, or no data to restore from. */
  recoveryNeedsOperator(reason: string): void;
}

/** What the snapshot function is asked to do (its handler is not written yet; recovery asks for a copy). */
export type SnapshotRequest =
  | { readonly trigger: "schedule" | "before-removal" | "on-demand" }
  /** Stream this surviving member's data into S3 during recovery. */
  | {
      readonly trigger: "copy-survivor";
      readonly instanceId: string;
      readonly memberId: string;
      readonly revision: number;
    }
  | { readonly action: "list" };

/** Snapshots and recovery: the S3 bucket, the ledger's durability records, the snapshot function. */
export interface DurabilityPort {
  readonly ledger: DurabilityLedger;
  /** The snapshot bucket; throws ConfigError where SNAPSHOT_BUCKET is not set. Loaded on first use. */
  store(): Promise<SnapshotStore>;
  /** The member health sightings reconcile passes record (issue 16), as quorum-loss reads them. */
  sightings(): Promise<readonly RecordedSighting[]>;
  /**
   * Invokes the snapshot function with `request`: waits up to `waitMs` for its answer, or only
   * queues it (an asynchronous invocation) when `waitMs` is 0. Throws what the invocation threw.
   */
  invokeSnapshot(request: SnapshotRequest, waitMs: number): Promise<unknown>;
}

export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly ledger: Ledger;
  readonly group: GroupPort;
  /** A membership client over these client URLs (mutual TLS, as root); the caller closes it.
   * `leader`: the client URL of the member a reading made moments ago found leader, if one did. */
  readonly etcd: (endpoints: readonly string[], leader?: string) => EtcdMembership;
  /** The hosted zone of the client name, its SDK client loaded on first use; undefined when the
   * stack keeps no name (config.clientEndpoint). */
  readonly hostedZone: (() => Promise<HostedZonePort>) | undefined;
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
