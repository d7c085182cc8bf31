// The ledger: what the control plane remembers about one etcd cluster, in DynamoDB. Every change is
// a conditional write, so concurrent handlers (duplicated or reordered events) cannot both win.
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { SnapshotRecord } from "../../domain/durability";
import {
  type ClusterRecord,
  type LedgerState,
  type MembershipLock,
  NODE_PHASES,
  type NodePhase,
} from "../../domain/snapshot";
import * as z from "../../schema";
import { DurabilityLedger } from "./durability";
import {
  ClusterGenerationMismatchError,
  InvalidLedgerInputError,
  LedgerContentionError,
  NodePhaseConflictError,
  RegistrationConflictError,
  UnknownNodeError,
} from "./errors";
import { requireText, requireTime } from "./input";
import {
  CLUSTER_SK,
  clusterFromItem,
  clusterPartition,
  clusterRecordSchema,
  isNodeSortKey,
  type LedgerNode,
  LOCK_SK,
  lockItemFrom,
  type NodeConfig,
  nodeConfigSchema,
  nodeFromItem,
  nodeSortKey,
  REGISTRATION_COUNTER_SK,
  registrationFromCounterItem,
  tokenPartition,
} from "./items";
import { LifecycleTokens } from "./lifecycle-tokens";
import { MembershipLocks } from "./membership-lock";
import { LEDGER_TABLE_SCHEMA } from "./table";
import { OPTIMISTIC_ATTEMPTS, TableAccess } from "./table-access";

export interface LedgerOptions {
  /** Built once per process by the caller (module scope in a Lambda). */
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Several clusters may share a table; each keeps its items under its own partition. */
  readonly clusterName: string;
}

/** The ledger state with the published part of each node record. */
export interface LedgerContents extends LedgerState {
  readonly nodes: readonly LedgerNode[];
  /** The membership lock's version as read, held or released (0 before its first acquisition): an
   * acquisition that makes it this + 1 proves no other actor held the lock since this reading. */
  readonly lockVersion: number;
}

export interface PhaseChange {
  readonly phase: NodePhase;
  /** Set once etcd has given the node a member ID; left as it is when absent. */
  readonly memberId?: string;
  /** Replaces the published configuration; left as it is when absent. */
  readonly config?: NodeConfig;
  /** `phaseSince` becomes `now` even when the phase stays the same (a step of the phase starts over). */
  readonly restartClock?: boolean;
}

export interface FixClusterResult {
  /** This call wrote the record; false when another proposer fixed this generation first. */
  readonly won: boolean;
  /** The record the ledger holds now, whoever wrote it. */
  readonly cluster: ClusterRecord;
}

/** Node records in these phases may be deleted: etcd never knew them, or no longer does. */
const DELETABLE_PHASES: readonly NodePhase[] = ["registered", "not-a-member", "refused", "removed"];

const { partitionKey: PK, sortKey: SK } = LEDGER_TABLE_SCHEMA;

const CLUSTER_NAME = /^[A-Za-z0-9._-]{1,128}$/;

export class Ledger {
  private readonly table: TableAccess;
  private readonly pk: string;
  private readonly locks: MembershipLocks;
  private readonly tokens: LifecycleTokens;
  private readonly durability: DurabilityLedger;

  constructor(options: LedgerOptions) {
    if (!CLUSTER_NAME.test(options.clusterName)) {
      throw new InvalidLedgerInputError(
        "cluster name",
        `${JSON.stringify(options.clusterName)} must be 1-128 letters, digits, '.', '_' or '-'`,
      );
    }
    if (options.tableName.length === 0) throw new InvalidLedgerInputError("table name", "it is empty");
    this.table = new TableAccess(options.client, options.tableName);
    this.pk = clusterPartition(options.clusterName);
    this.locks = new MembershipLocks(this.table, this.pk);
    this.tokens = new LifecycleTokens(this.table, tokenPartition(options.clusterName));
    this.durability = new DurabilityLedger(options);
  }

  /** The latest snapshot record (durability.ts), or undefined before the first. */
  latestSnapshot(): Promise<SnapshotRecord | undefined> {
    return this.durability.latestSnapshot();
  }

  /** The cluster, its nodes (in registration order) and the lock, read with strong consistency. */
  async loadState(): Promise<LedgerContents> {
    let cluster: ClusterRecord | undefined;
    let lock: MembershipLock | undefined;
    let lockVersion = 0;
    const nodes: LedgerNode[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.table.request("loadState", () =>
        this.table.client.send(
          new QueryCommand({
            TableName: this.table.tableName,
            KeyConditionExpression: "#pk = :pk",
            ExpressionAttributeNames: { "#pk": PK },
            ExpressionAttributeValues: { ":pk": this.pk },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        const sk = String(item[SK]);
        if (sk === CLUSTER_SK) cluster = clusterFromItem(item);
        else if (sk === LOCK_SK) ({ lock, version: lockVersion } = lockItemFrom(item));
        else if (isNodeSortKey(sk)) nodes.push(nodeFromItem(item));
        // Other items (the counter, or kinds a newer version adds) are not part of the state.
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    nodes.sort((a, b) => a.registration - b.registration);
    return { cluster, nodes, lock, lockVersion };
  }

  async getNode(instanceId: string): Promise<LedgerNode | undefined> {
    const item = await this.table.getItem("getNode", this.pk, nodeSortKey(instanceId));
    return item === undefined ? undefined : nodeFromItem(item);
  }

  /**
   * Records the instance and gives it the next registration number, once: a repeated call returns
   * the first record. Numbers come from an atomic counter, so concurrent registrations of different
   * instances get distinct, gap-free numbers. A gap appears only when the same instance registers
   * twice at the same moment (both calls draw a number, one record wins) or a call dies between
   * drawing and writing; order is all the engine relies on, and a gap does not change it.
   * `read`: the record as the caller is already reading it (getNode, sent earlier), which stands for
   * the read this call would make first; a failed one is made again.
   */
  async registerNode(
    instanceId: string,
    privateIp: string,
    now: number,
    read?: Promise<LedgerNode | undefined>,
  ): Promise<LedgerNode> {
    requireText("instance ID", instanceId);
    requireText("private IP", privateIp);
    requireTime("now", now);
    const existing =
      read === undefined ? await this.getNode(instanceId) : await read.catch(() => this.getNode(instanceId));
    if (existing !== undefined) return sameIp(existing, privateIp);

    const counter = await this.table.request("registerNode", () =>
      this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: this.key(REGISTRATION_COUNTER_SK),
          UpdateExpression: "ADD #value :one",
          ExpressionAttributeNames: { "#value": "value" },
          ExpressionAttributeValues: { ":one": 1 },
          ReturnValues: "ALL_NEW",
        }),
      ),
    );
    const registration = registrationFromCounterItem({
      ...this.key(REGISTRATION_COUNTER_SK),
      ...counter.Attributes,
    });
    const stored = { instanceId, privateIp, registration, phase: "registered", phaseSince: now } as const;
    return this.table.conditionalWrite(
      "registerNode",
      async () => {
        await this.table.client.send(
          new PutCommand({
            TableName: this.table.tableName,
            Item: { ...this.key(nodeSortKey(instanceId)), ...stored },
            ConditionExpression: "attribute_not_exists(#sk)",
            ExpressionAttributeNames: { "#sk": SK },
          }),
        );
        return { ...stored, memberId: undefined, config: undefined };
      },
      async () => {
        const winner = await this.getNode(instanceId);
        if (winner === undefined) throw new LedgerContentionError(`registration of ${instanceId}`);
        return sameIp(winner, privateIp);
      },
    );
  }

  /**
   * Records the etcd version a registered node reports it installed (MAJOR.MINOR.PATCH), which etcd's
   * version rules are checked against before it joins. Last writer wins: a node reports one version.
   */
  async recordNodeVersion(instanceId: string, etcdVersion: string): Promise<void> {
    requireText("instance ID", instanceId);
    if (!/^\d{1,4}\.\d{1,4}\.\d{1,4}$/.test(etcdVersion)) {
      throw new InvalidLedgerInputError(
        "etcd version",
        `${JSON.stringify(etcdVersion)} is not MAJOR.MINOR.PATCH (e.g. 3.5.21)`,
      );
    }
    await this.table.conditionalWrite(
      "recordNodeVersion",
      async () => {
        await this.table.client.send(
          new UpdateCommand({
            TableName: this.table.tableName,
            Key: this.key(nodeSortKey(instanceId)),
            UpdateExpression: "SET #etcdVersion = :etcdVersion",
            ConditionExpression: "attribute_exists(#sk)",
            ExpressionAttributeNames: { "#etcdVersion": "etcdVersion", "#sk": SK },
            ExpressionAttributeValues: { ":etcdVersion": etcdVersion },
          }),
        );
      },
      async () => {
        throw new UnknownNodeError(instanceId);
      },
    );
  }

  /**
   * Fixes the cluster record for its generation: generation 1 only when there is none, generation
   * n only over generation n-1. Exactly one of any number of concurrent proposers wins; the others
   * get the winner's record.
   */
  async fixCluster(proposal: ClusterRecord): Promise<FixClusterResult> {
    const parsed = clusterRecordSchema.safeParse(proposal);
    if (!parsed.success) throw new InvalidLedgerInputError("cluster record", z.prettifyError(parsed.error));
    const record: ClusterRecord = parsed.data;
    const first = record.generation === 1;
    return this.table.conditionalWrite(
      "fixCluster",
      async () => {
        await this.table.client.send(
          new PutCommand({
            TableName: this.table.tableName,
            Item: { ...this.key(CLUSTER_SK), ...record },
            ConditionExpression: first ? "attribute_not_exists(#sk)" : "#generation = :previous",
            ExpressionAttributeNames: first ? { "#sk": SK } : { "#generation": "generation" },
            ExpressionAttributeValues: first ? undefined : { ":previous": record.generation - 1 },
          }),
        );
        return { won: true, cluster: record };
      },
      async () => {
        const current = await this.getCluster();
        if (current === undefined) throw new ClusterGenerationMismatchError(record.generation - 1, undefined);
        return { won: false, cluster: current };
      },
    );
  }

  /** Marks the cluster of this generation `running`; repeating it is harmless. */
  async markClusterRunning(generation: number): Promise<ClusterRecord> {
    return this.table.conditionalWrite(
      "markClusterRunning",
      async () => {
        const result = await this.table.client.send(
          new UpdateCommand({
            TableName: this.table.tableName,
            Key: this.key(CLUSTER_SK),
            UpdateExpression: "SET #state = :running",
            ConditionExpression: "#generation = :generation",
            ExpressionAttributeNames: { "#state": "state", "#generation": "generation" },
            ExpressionAttributeValues: { ":running": "running", ":generation": generation },
            ReturnValues: "ALL_NEW",
          }),
        );
        return clusterFromItem({ ...this.key(CLUSTER_SK), ...result.Attributes });
      },
      async () => {
        throw new ClusterGenerationMismatchError(generation, (await this.getCluster())?.generation);
      },
    );
  }

  /**
   * Records etcd's cluster version (MAJOR.MINOR) on the cluster of this generation. The caller
   * decides that it moves (domain/roll.ts clusterVersionUpdate: only up, as etcd's own); a write
   * for another generation is refused.
   */
  async recordClusterVersion(generation: number, version: string): Promise<void> {
    if (!/^\d{1,4}\.\d{1,4}$/.test(version)) {
      throw new InvalidLedgerInputError(
        "cluster version",
        `${JSON.stringify(version)} is not MAJOR.MINOR (e.g. 3.5)`,
      );
    }
    await this.table.conditionalWrite(
      "recordClusterVersion",
      async () => {
        await this.table.client.send(
          new UpdateCommand({
            TableName: this.table.tableName,
            Key: this.key(CLUSTER_SK),
            UpdateExpression: "SET #etcdVersion = :version",
            ConditionExpression: "#generation = :generation",
            ExpressionAttributeNames: { "#etcdVersion": "etcdVersion", "#generation": "generation" },
            ExpressionAttributeValues: { ":version": version, ":generation": generation },
          }),
        );
      },
      async () => {
        throw new ClusterGenerationMismatchError(generation, (await this.getCluster())?.generation);
      },
    );
  }

  /**
   * Moves a registered node to `change.phase` (and records its member ID or configuration), only
   * from `expectedPhase` when given. `phaseSince` becomes `now` only when the phase really changes
   * (or `restartClock` says so), so re-publishing a configuration does not restart a phase's timeout.
   * `observed`: the record as the caller has just read it (its ledger state): the first attempt
   * writes on it without reading it again; if it has changed since, that write fails on its
   * condition and the next attempt reads it, as without it.
   */
  async setNodePhase(
    instanceId: string,
    change: PhaseChange,
    now: number,
    expectedPhase?: NodePhase,
    observed?: LedgerNode,
  ): Promise<LedgerNode> {
    requireTime("now", now);
    if (!NODE_PHASES.includes(change.phase)) {
      throw new InvalidLedgerInputError(
        "node phase",
        `${JSON.stringify(change.phase)} is not one of ${NODE_PHASES.join(", ")}`,
      );
    }
    if (change.memberId !== undefined && !/^\d+$/.test(change.memberId)) {
      throw new InvalidLedgerInputError(
        "member ID",
        `${JSON.stringify(change.memberId)} is not a decimal string`,
      );
    }
    const configJson = change.config === undefined ? undefined : configToJson(change.config);
    // A record read elsewhere that fails the expected phase is read again before it is refused.
    let known = expectedPhase === undefined || observed?.phase === expectedPhase ? observed : undefined;
    for (let attempt = 0; attempt < OPTIMISTIC_ATTEMPTS; attempt++) {
      const current = known ?? (await this.getNode(instanceId));
      known = undefined;
      if (current === undefined) throw new UnknownNodeError(instanceId);
      if (expectedPhase !== undefined && current.phase !== expectedPhase) {
        throw new NodePhaseConflictError(instanceId, [expectedPhase], current.phase);
      }
      const values: Record<string, unknown> = {
        ":phase": change.phase,
        ":since": current.phase === change.phase && change.restartClock !== true ? current.phaseSince : now,
        ":observedPhase": current.phase,
        ":observedSince": current.phaseSince,
      };
      const assignments = ["#phase = :phase", "#phaseSince = :since"];
      if (change.memberId !== undefined) {
        assignments.push("#memberId = :memberId");
        values[":memberId"] = change.memberId;
      }
      if (configJson !== undefined) {
        assignments.push("#configJson = :configJson");
        values[":configJson"] = configJson;
      }
      const updated = await this.table.conditionalWrite(
        "setNodePhase",
        async () => {
          const result = await this.table.client.send(
            new UpdateCommand({
              TableName: this.table.tableName,
              Key: this.key(nodeSortKey(instanceId)),
              UpdateExpression: `SET ${assignments.join(", ")}`,
              // Conditional on the phase read: a phase change by another writer in between makes this
              // attempt start over. Configuration alone is last-writer-wins.
              ConditionExpression: "#phase = :observedPhase AND #phaseSince = :observedSince",
              ExpressionAttributeNames: {
                "#phase": "phase",
                "#phaseSince": "phaseSince",
                ...(change.memberId !== undefined ? { "#memberId": "memberId" } : {}),
                ...(configJson !== undefined ? { "#configJson": "configJson" } : {}),
              },
              ExpressionAttributeValues: values,
              ReturnValues: "ALL_NEW",
            }),
          );
          return nodeFromItem({ ...this.key(nodeSortKey(instanceId)), ...result.Attributes });
        },
        async () => undefined,
      );
      if (updated !== undefined) return updated;
    }
    throw new LedgerContentionError(`phase of ${instanceId}`);
  }

  /**
   * Forgets a node that etcd never knew or no longer knows (phase registered, not-a-member or
   * removed), e.g. an instance terminated before the cluster was fixed. Returns whether there was a
   * record; a node on its way into etcd or in it is refused with `NodePhaseConflictError`.
   */
  async deleteNode(instanceId: string): Promise<boolean> {
    return this.table.conditionalWrite(
      "deleteNode",
      async () => {
        const result = await this.table.client.send(
          new DeleteCommand({
            TableName: this.table.tableName,
            Key: this.key(nodeSortKey(instanceId)),
            ConditionExpression:
              "attribute_not_exists(#sk) OR #phase IN (:registered, :notAMember, :refused, :removed)",
            ExpressionAttributeNames: { "#sk": SK, "#phase": "phase" },
            ExpressionAttributeValues: {
              ":registered": "registered",
              ":notAMember": "not-a-member",
              ":refused": "refused",
              ":removed": "removed",
            },
            ReturnValues: "ALL_OLD",
          }),
        );
        return result.Attributes !== undefined;
      },
      async () => {
        const current = await this.getNode(instanceId);
        if (current === undefined) return false;
        throw new NodePhaseConflictError(instanceId, DELETABLE_PHASES, current.phase);
      },
    );
  }

  acquireLock(holder: string, ttlMs: number, now: number): Promise<MembershipLock> {
    return this.locks.acquire(holder, ttlMs, now);
  }

  renewLock(holder: string, version: number, ttlMs: number, now: number): Promise<MembershipLock> {
    return this.locks.renew(holder, version, ttlMs, now);
  }

  releaseLock(holder: string, version: number): Promise<void> {
    return this.locks.release(holder, version);
  }

  markTokenProcessed(token: string, outcome: string, now: number, ttlSeconds: number): Promise<boolean> {
    return this.tokens.markProcessed(token, outcome, now, ttlSeconds);
  }

  tokenOutcome(token: string): Promise<string | undefined> {
    return this.tokens.outcome(token);
  }

  private async getCluster(): Promise<ClusterRecord | undefined> {
    const item = await this.table.getItem("getCluster", this.pk, CLUSTER_SK);
    return item === undefined ? undefined : clusterFromItem(item);
  }

  private key(sk: string): Record<string, string> {
    return this.table.key(this.pk, sk);
  }
}

function sameIp(node: LedgerNode, privateIp: string): LedgerNode {
  if (node.privateIp !== privateIp)
    throw new RegistrationConflictError(node.instanceId, node.privateIp, privateIp);
  return node;
}

function configToJson(config: NodeConfig): string {
  const parsed = nodeConfigSchema.safeParse(config);
  if (!parsed.success) throw new InvalidLedgerInputError("node configuration", z.prettifyError(parsed.error));
  return JSON.stringify(parsed.data);
}
