// etcd's upkeep calls: each member's storage status (db file size and size in use), the cluster's
// alarms (list, disarm), compaction to a revision and defragmentation of one member. Each call goes to
// one endpoint through EtcdEndpoint (one client per member, no fault handling, errors translated by
// translateEtcdError); nothing here decides what to do — domain/etcd-upkeep.ts does.
//
// etcd3 1.1.2's Maintenance.Status carries both sizes: its proto and typings have `dbSize` (field 3)
// and `dbSizeInUse` (field 9, added in etcd 3.4), int64 as decimal strings. Its enums load as their
// proto names, which etcd3's copy of the proto spells `Nospace` and `Corrupt` (etcd's own proto says
// NOSPACE and CORRUPT; the wire carries numbers, so both mean the same alarm).
import type { AlarmKind, MemberStorage, RaisedAlarm } from "../../domain/etcd-upkeep";
import { isRetryable } from "../../errors";
import { EtcdEndpoint, type TlsIdentitySource } from "./endpoint";
import {
  type EtcdAdapterError,
  EtcdRequestError,
  EtcdUnavailableError,
  InvalidEtcdInputError,
  RevisionCompactedError,
} from "./errors";

export interface EtcdMaintenanceOptions {
  /** Client URLs of the members, e.g. `https://10.0.1.5:2379`; alarms and compaction go to the first that answers. */
  readonly endpoints: readonly string[];
  /** Bound on an alarm or compaction call, dial included. @default 3000 */
  readonly callTimeoutMs?: number;
  /** Bound on a status call; a member that does not answer within it did not answer. @default 1000 */
  readonly statusTimeoutMs?: number;
  /**
   * Bound on one defragmentation. The member copies its live data meanwhile (tens of seconds per GiB
   * on gp3); a call cut short goes on inside etcd, and the member answers nothing until it is done.
   * @default 120000
   */
  readonly defragmentTimeoutMs?: number;
  /** The client certificate for https endpoints (mutual TLS); required when any endpoint is https. */
  readonly tls?: TlsIdentitySource;
}

/** A member's Maintenance.Status with what upkeep reads. Sizes in bytes. */
export interface StorageStatus extends MemberStorage {
  readonly isLearner: boolean;
  /** What the member reports besides: alarms ("memberID:… alarm:NOSPACE"), "no leader". */
  readonly errors: readonly string[];
}

/** The outcome of a status call to one endpoint: `status` when it answered, `error` when not. */
export type StorageProbe =
  | { readonly endpoint: string; readonly answered: true; readonly status: StorageStatus }
  | { readonly endpoint: string; readonly answered: false; readonly error: EtcdAdapterError };

const DEFAULT_CALL_TIMEOUT_MS = 3000;
const DEFAULT_STATUS_TIMEOUT_MS = 1000;
const DEFAULT_DEFRAGMENT_TIMEOUT_MS = 120_000;
const MEMBER_ID = /^[1-9][0-9]*$/;

/** etcd3's enum names for the alarms, and back. */
const ALARM_NAMES: Record<AlarmKind, "Nospace" | "Corrupt"> = { NOSPACE: "Nospace", CORRUPT: "Corrupt" };

export class EtcdMaintenance {
  private readonly endpoints: readonly string[];
  private readonly callTimeoutMs: number;
  private readonly statusTimeoutMs: number;
  private readonly defragmentTimeoutMs: number;
  private readonly tls: TlsIdentitySource | undefined;
  private readonly clients = new Map<string, EtcdEndpoint>();

  constructor(options: EtcdMaintenanceOptions) {
    if (options.endpoints.length === 0) {
      throw new InvalidEtcdInputError("endpoints", "at least one etcd client URL is needed");
    }
    this.callTimeoutMs = positive("callTimeoutMs", options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS);
    this.statusTimeoutMs = positive("statusTimeoutMs", options.statusTimeoutMs ?? DEFAULT_STATUS_TIMEOUT_MS);
    this.defragmentTimeoutMs = positive(
      "defragmentTimeoutMs",
      options.defragmentTimeoutMs ?? DEFAULT_DEFRAGMENT_TIMEOUT_MS,
    );
    this.tls = options.tls;
    this.endpoints = [...new Set(options.endpoints)];
    for (const url of this.endpoints) this.endpoint(url);
  }

  /** Maintenance.Status of the member behind `url`, with its db sizes and revision. */
  async storageStatus(url: string): Promise<StorageStatus> {
    const status = await this.endpoint(url).call(
      "status",
      (client, options) => client.maintenance.status(options),
      this.statusTimeoutMs,
    );
    const dbSize = int64("dbSize", status.dbSize, url);
    const inUse = int64("dbSizeInUse", status.dbSizeInUse, url);
    return {
      memberId: status.header.member_id,
      endpoint: url,
      leaderId: status.leader,
      isLearner: status.isLearner,
      revision: int64("revision", status.header.revision, url),
      dbSize,
      // A server older than 3.4 reports 0 in use: nothing is known to be reclaimable, so nothing is.
      dbSizeInUse: inUse === 0 ? dbSize : inUse,
      errors: [...status.errors],
    };
  }

  /** Storage status of each URL (the endpoints by default), in parallel; never throws. */
  probe(urls: readonly string[] = this.endpoints): Promise<StorageProbe[]> {
    return Promise.all(
      urls.map(async (url): Promise<StorageProbe> => {
        try {
          return { endpoint: url, answered: true, status: await this.storageStatus(url) };
        } catch (error) {
          return { endpoint: url, answered: false, error: error as EtcdAdapterError };
        }
      }),
    );
  }

  /** The alarms raised in the cluster (NOSPACE and CORRUPT; etcd 3.4 has no others). */
  async alarms(): Promise<RaisedAlarm[]> {
    const response = await this.onAnyEndpoint("alarm list", (endpoint) =>
      endpoint.call("alarm list", (client, options) =>
        client.maintenance.alarm({ action: "Get", memberID: 0, alarm: "None" }, options),
      ),
    );
    return toAlarms(response.alarms);
  }

  /**
   * Deactivates each of `alarms` (per member, as `etcdctl alarm disarm` does) and returns the
   * alarms still raised afterwards. etcd raises NOSPACE again on the next write that does not fit.
   */
  async disarm(alarms: readonly RaisedAlarm[]): Promise<RaisedAlarm[]> {
    for (const alarm of alarms) {
      assertMemberId(alarm.memberId);
      await this.onAnyEndpoint("alarm disarm", (endpoint) =>
        endpoint.call("alarm disarm", (client, options) =>
          client.maintenance.alarm(
            { action: "Deactivate", memberID: alarm.memberId, alarm: ALARM_NAMES[alarm.alarm] },
            options,
          ),
        ),
      );
    }
    return this.alarms();
  }

  /**
   * Compacts the key-value history up to `revision` and waits until the member that took the request
   * has removed it from its db (`physical`). A revision compacted already is "already-compacted".
   */
  async compact(revision: number): Promise<"compacted" | "already-compacted"> {
    if (!Number.isSafeInteger(revision) || revision < 1) {
      throw new InvalidEtcdInputError("revision", `${revision} is not a positive whole number`);
    }
    try {
      await this.onAnyEndpoint("compact", (endpoint) =>
        endpoint.call("compact", (client, options) =>
          client.kv.compact({ revision: String(revision), physical: true }, options),
        ),
      );
      return "compacted";
    } catch (error) {
      if (error instanceof RevisionCompactedError) return "already-compacted";
      throw error;
    }
  }

  /**
   * Defragments the db of the member behind `url` only (etcd's Defragment acts on the member that
   * receives it). It answers nothing else meanwhile.
   */
  async defragment(url: string): Promise<void> {
    await this.endpoint(url).call(
      "defragment",
      (client, options) => client.maintenance.defragment(options),
      this.defragmentTimeoutMs,
    );
  }

  /** Closes every client this adapter opened. */
  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private endpoint(url: string): EtcdEndpoint {
    let endpoint = this.clients.get(url);
    if (endpoint === undefined) {
      endpoint = new EtcdEndpoint(url, this.callTimeoutMs, this.tls);
      this.clients.set(url, endpoint);
    }
    return endpoint;
  }

  /**
   * Runs `call` on the endpoints in turn until one answers. Only a failure to reach a member moves on
   * to the next: etcd forwards alarm and compaction requests through raft, so any member that answers
   * gives the cluster's answer, and a refusal would be the same from every member.
   */
  private async onAnyEndpoint<T>(
    operation: string,
    call: (endpoint: EtcdEndpoint) => Promise<T>,
  ): Promise<T> {
    const failures: string[] = [];
    for (const url of this.endpoints) {
      try {
        return await call(this.endpoint(url));
      } catch (error) {
        if (!isRetryable(error)) throw error;
        failures.push((error as Error).message);
      }
    }
    throw new EtcdUnavailableError(`etcd ${operation}: no endpoint answered; ${failures.join("; ")}`);
  }
}

function toAlarms(raised: readonly { memberID: string; alarm: string }[]): RaisedAlarm[] {
  return raised.flatMap((a): RaisedAlarm[] => {
    const kind = a.alarm.toUpperCase();
    return kind === "NOSPACE" || kind === "CORRUPT" ? [{ memberId: a.memberID, alarm: kind }] : [];
  });
}

function int64(field: string, value: string, url: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed)) {
    throw new EtcdRequestError(
      `etcd status at ${url}: ${field} ${JSON.stringify(value)} is not a whole number`,
      undefined,
    );
  }
  return parsed;
}

function assertMemberId(memberId: string): void {
  if (!MEMBER_ID.test(memberId)) {
    throw new InvalidEtcdInputError(
      "member ID",
      `${JSON.stringify(memberId)} is not a decimal etcd member ID`,
    );
  }
}

function positive(option: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidEtcdInputError(option, `must be a positive number of milliseconds, got ${value}`);
  }
  return value;
}
