// The ledger's durability records, beside the cluster's other items (pk = cluster#<name>):
//
//   sk = snapshot#latest   the newest checked snapshot in S3
//   sk = cluster           replaced by `openGeneration` when a new generation opens
//   sk = restore#request   an operator's restore of a named snapshot, for the generation it names:
//                          the reconciler carries it out (replacing old nodes first when it must)
//                          and it means nothing once that generation is over
//
// Only the latest snapshot is kept: S3 holds every snapshot with its metadata and hash tag
// (adapters/snapshots/store.ts lists and describes them) and retention prunes it there; a history
// here would be a second list to keep in step with the bucket. The record never moves backwards: one
// conditional write replaces it only with a snapshot of a later generation, a higher revision of the
// same generation, or the same revision taken later (an idle cluster's next snapshot, which keeps the
// snapshot age fresh). A snapshot function that ran late — slower than the next one, or begun before
// a new generation opened — loses, and is told which record holds.
//
// A new generation (after quorum was lost for good, or on an operator's restore) is ONE conditional
// write of the cluster record: generation g+1 — a new token, the restore source and a fresh initial
// member set, state `forming` — only if the ledger still holds generation g with the token the caller
// planned from. Of any number of control-plane functions deciding at once, exactly one opens g+1; the
// others read its record back and follow it. The cluster item is the one every launch and node-API
// decision reads, so from that write on no node is told the old generation's token again.
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import type { RestoreSource, SnapshotRecord } from "../../domain/durability";
import type { ClusterRecord } from "../../domain/snapshot";
import * as z from "../../schema";
import {
  ClusterGenerationMismatchError,
  InvalidLedgerInputError,
  LedgerContentionError,
  LedgerCorruptItemError,
} from "./errors";
import { requireText } from "./input";
import {
  CLUSTER_SK,
  clusterFromItem,
  clusterPartition,
  clusterRecordSchema,
  restoreSourceSchema,
  snapshotRecordSchema,
} from "./items";
import type { LedgerOptions } from "./ledger";
import { LEDGER_TABLE_SCHEMA } from "./table";
import { TableAccess } from "./table-access";

export const LATEST_SNAPSHOT_SK = "snapshot#latest";
export const RESTORE_REQUEST_SK = "restore#request";

/** An operator's restore: open the generation after `generation` from `source`. */
export interface RestoreRequest {
  /** The generation the operator saw: the request is carried out over it, and only over it. */
  readonly generation: number;
  readonly source: RestoreSource;
  /** Epoch milliseconds. */
  readonly requestedAt: number;
}

const restoreRequestSchema = z.object({
  generation: z.int().check(z.gte(1)),
  source: restoreSourceSchema,
  requestedAt: z.int().check(z.gte(0)),
});

const { sortKey: SK } = LEDGER_TABLE_SCHEMA;

export interface RecordSnapshotResult {
  /** This call's snapshot is the latest now (written by it, or the same key was already there). */
  readonly recorded: boolean;
  /** The record the ledger holds now. */
  readonly latest: SnapshotRecord;
}

export interface RestoreRequestResult {
  /** This call's request is the one recorded now. */
  readonly recorded: boolean;
  /** The request the ledger holds now. */
  readonly request: RestoreRequest;
}

export interface OpenGenerationResult {
  /** This call opened the generation; false when another writer moved the ledger on first. */
  readonly won: boolean;
  /** The cluster record the ledger holds now, whoever wrote it. */
  readonly cluster: ClusterRecord;
}

export class DurabilityLedger {
  private readonly table: TableAccess;
  private readonly pk: string;

  constructor(options: LedgerOptions) {
    requireText("cluster name", options.clusterName);
    requireText("table name", options.tableName);
    this.table = new TableAccess(options.client, options.tableName);
    this.pk = clusterPartition(options.clusterName);
  }

  /** The latest snapshot record, read with strong consistency, or undefined before the first. */
  latestSnapshot(): Promise<SnapshotRecord | undefined> {
    return this.readItem("getLatestSnapshot", LATEST_SNAPSHOT_SK, snapshotRecordSchema);
  }

  /** Records `snapshot` as the latest unless the ledger holds a newer one. */
  async recordSnapshot(snapshot: SnapshotRecord): Promise<RecordSnapshotResult> {
    const parsed = snapshotRecordSchema.safeParse(snapshot);
    if (!parsed.success) throw new InvalidLedgerInputError("snapshot record", z.prettifyError(parsed.error));
    const record = withoutUndefined(parsed.data);
    return this.table.conditionalWrite(
      "recordSnapshot",
      async () => {
        await this.table.client.send(
          new PutCommand({
            TableName: this.table.tableName,
            Item: { ...this.table.key(this.pk, LATEST_SNAPSHOT_SK), ...record },
            ConditionExpression:
              "attribute_not_exists(#sk) OR #generation < :generation" +
              " OR (#generation = :generation AND #revision < :revision)" +
              " OR (#generation = :generation AND #revision = :revision AND #takenAt < :takenAt)",
            ExpressionAttributeNames: {
              "#sk": SK,
              "#generation": "generation",
              "#revision": "revision",
              "#takenAt": "takenAt",
            },
            ExpressionAttributeValues: {
              ":generation": record.generation,
              ":revision": record.revision,
              ":takenAt": record.takenAt,
            },
          }),
        );
        return { recorded: true, latest: parsed.data };
      },
      async () => {
        const holding = await this.latestSnapshot();
        // Only a deletion makes the record vanish between the refused write and this read.
        if (holding === undefined) throw new LedgerContentionError("latest snapshot record");
        return { recorded: holding.key === record.key, latest: holding };
      },
    );
  }

  /**
   * Records an operator's restore request with one conditional write: it replaces a request made
   * earlier (the operator changed their mind, or the earlier one is over), never one made later — a
   * command delayed or retried on its way cannot undo the operator's newer choice.
   */
  async requestRestore(request: RestoreRequest): Promise<RestoreRequestResult> {
    const parsed = restoreRequestSchema.safeParse(request);
    if (!parsed.success) throw new InvalidLedgerInputError("restore request", z.prettifyError(parsed.error));
    return this.table.conditionalWrite(
      "requestRestore",
      async () => {
        await this.table.client.send(
          new PutCommand({
            TableName: this.table.tableName,
            Item: { ...this.table.key(this.pk, RESTORE_REQUEST_SK), ...parsed.data },
            ConditionExpression: "attribute_not_exists(#sk) OR #requestedAt <= :requestedAt",
            ExpressionAttributeNames: { "#sk": SK, "#requestedAt": "requestedAt" },
            ExpressionAttributeValues: { ":requestedAt": parsed.data.requestedAt },
          }),
        );
        return { recorded: true, request: parsed.data };
      },
      async () => {
        const holding = await this.restoreRequest();
        // Only a deletion makes the request vanish between the refused write and this read.
        if (holding === undefined) throw new LedgerContentionError("restore request");
        return { recorded: false, request: holding };
      },
    );
  }

  /** The operator's last restore request, whatever generation it was for. */
  restoreRequest(): Promise<RestoreRequest | undefined> {
    return this.readItem("getRestoreRequest", RESTORE_REQUEST_SK, restoreRequestSchema);
  }

  /** One item of this cluster, read with strong consistency and checked against `schema`. */
  private async readItem<T>(operation: string, sk: string, schema: z.ZodMiniType<T>): Promise<T | undefined> {
    const item = await this.table.getItem(operation, this.pk, sk);
    if (item === undefined) return undefined;
    const { pk: _, sk: __, ...fields } = item;
    const parsed = schema.safeParse(fields);
    if (!parsed.success) throw new LedgerCorruptItemError({ pk: this.pk, sk }, z.prettifyError(parsed.error));
    return parsed.data;
  }

  /**
   * Writes `next` (the recovery plan's record) over `current` if the ledger still holds `current`'s
   * generation and token. Throws `ClusterGenerationMismatchError` when the ledger holds no cluster.
   */
  async openGeneration(current: ClusterRecord, next: ClusterRecord): Promise<OpenGenerationResult> {
    const parsed = clusterRecordSchema.safeParse(next);
    if (!parsed.success) throw new InvalidLedgerInputError("cluster record", z.prettifyError(parsed.error));
    const record = parsed.data;
    const problem = nextGenerationProblem(current, record);
    if (problem !== undefined) throw new InvalidLedgerInputError("next generation", problem);
    return this.table.conditionalWrite(
      "openGeneration",
      async () => {
        await this.table.client.send(
          new PutCommand({
            TableName: this.table.tableName,
            Item: { ...this.table.key(this.pk, CLUSTER_SK), ...record },
            ConditionExpression: "#generation = :generation AND #token = :token",
            ExpressionAttributeNames: { "#generation": "generation", "#token": "token" },
            ExpressionAttributeValues: { ":generation": current.generation, ":token": current.token },
          }),
        );
        return { won: true, cluster: record };
      },
      async () => {
        const item = await this.table.getItem("openGeneration", this.pk, CLUSTER_SK);
        if (item === undefined) throw new ClusterGenerationMismatchError(current.generation, undefined);
        return { won: false, cluster: clusterFromItem(item) };
      },
    );
  }
}

/** The document client refuses undefined attribute values unless told to drop them. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function nextGenerationProblem(current: ClusterRecord, next: ClusterRecord): string | undefined {
  if (next.generation !== current.generation + 1) {
    return `generation ${next.generation} does not follow ${current.generation}`;
  }
  if (next.token === current.token) return `the token ${next.token} is the current generation's`;
  if (next.restoreSource === undefined) return "a recovered generation needs a restore source";
  if (next.state !== "forming") return `a new generation starts forming, not ${next.state}`;
  if (next.size !== next.initialMembers.length) {
    return `${next.initialMembers.length} initial members for a cluster of ${next.size}`;
  }
  return undefined;
}
