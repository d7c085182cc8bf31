// etcd upkeep in the ledger, beside the cluster's other items (pk = cluster#<name>,
// sk = upkeep#run): the lease that lets one upkeep run at a time act (two reconcilers defragmenting
// two members at once would break "one member at a time"), and NOSPACE recovery's progress
// (domain/etcd-upkeep.ts UpkeepRun), which outlives the run that made it. The lease is taken like
// the membership lock — free, expired or already ours, with a version bumped on every acquisition —
// and every save of progress is conditional on that version, so a run whose lease ran out (a Lambda
// frozen mid-defragmentation) cannot write over its successor's progress. Release keeps the item
// and the progress.
import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { NEW_RUN, type UpkeepRun } from "../../domain/etcd-upkeep";
import * as z from "../../schema";
import { LedgerCorruptItemError, UpkeepLeaseLostError } from "./errors";
import { requireDuration, requireText, requireTime } from "./input";
import { clusterPartition } from "./items";
import type { LedgerOptions } from "./ledger";
import { TableAccess } from "./table-access";

export const UPKEEP_RUN_SK = "upkeep#run";

export interface UpkeepLease {
  readonly holder: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  /** The fencing token every save and the release must show. */
  readonly version: number;
}

const itemSchema = z.object({
  version: z.optional(z.int().check(z.gte(1))),
  holder: z.optional(z.string().check(z.minLength(1))),
  leaseUntil: z.optional(z.int()),
  compactedRevision: z.optional(z.int().check(z.gte(1))),
  compactionFreedHistory: z.optional(z.boolean()),
  defragmented: z.optional(
    z.array(z.string().check(z.regex(/^\d+$/, "etcd member IDs are decimal strings"))),
  ),
});

const NAMES = {
  "#holder": "holder",
  "#leaseUntil": "leaseUntil",
  "#version": "version",
  "#compactedRevision": "compactedRevision",
  "#compactionFreedHistory": "compactionFreedHistory",
  "#defragmented": "defragmented",
};

export class UpkeepRunLedger {
  private readonly table: TableAccess;
  private readonly pk: string;

  constructor(options: LedgerOptions) {
    requireText("cluster name", options.clusterName);
    requireText("table name", options.tableName);
    this.table = new TableAccess(options.client, options.tableName);
    this.pk = clusterPartition(options.clusterName);
  }

  /** NOSPACE recovery's progress (NEW_RUN when there is none), read with strong consistency. */
  async progress(): Promise<UpkeepRun> {
    const result = await this.table.request("loadUpkeepRun", () =>
      this.table.client.send(
        new GetCommand({ TableName: this.table.tableName, Key: this.key(), ConsistentRead: true }),
      ),
    );
    return result.Item === undefined ? NEW_RUN : this.parse(result.Item).run;
  }

  /**
   * Takes the lease when nobody holds it, it has run out, or `holder` has it already; returns it
   * with the progress it guards. Undefined when another run holds it.
   */
  async acquire(
    holder: string,
    ttlMs: number,
    now: number,
  ): Promise<{ lease: UpkeepLease; run: UpkeepRun } | undefined> {
    requireText("upkeep holder", holder);
    requireDuration("upkeep lease TTL", ttlMs);
    requireTime("now", now);
    return this.table.conditionalWrite(
      "acquireUpkeepLease",
      async () => {
        const result = await this.table.client.send(
          new UpdateCommand({
            TableName: this.table.tableName,
            Key: this.key(),
            UpdateExpression: "SET #holder = :holder, #leaseUntil = :leaseUntil ADD #version :one",
            ConditionExpression: "attribute_not_exists(#holder) OR #leaseUntil <= :now OR #holder = :holder",
            ExpressionAttributeNames: {
              "#holder": "holder",
              "#leaseUntil": "leaseUntil",
              "#version": "version",
            },
            ExpressionAttributeValues: {
              ":holder": holder,
              ":leaseUntil": now + ttlMs,
              ":now": now,
              ":one": 1,
            },
            ReturnValues: "ALL_NEW",
          }),
        );
        const { lease, run } = this.parse({ ...this.key(), ...result.Attributes });
        if (lease === undefined)
          throw new LedgerCorruptItemError(this.keyOf(), "no holder right after a write that set one");
        return { lease, run };
      },
      async () => undefined,
    );
  }

  /** Records the progress and extends the lease; UpkeepLeaseLostError when the lease is no longer ours. */
  async save(lease: UpkeepLease, run: UpkeepRun, ttlMs: number, now: number): Promise<UpkeepLease> {
    requireDuration("upkeep lease TTL", ttlMs);
    requireTime("now", now);
    const values: Record<string, unknown> = {
      ":holder": lease.holder,
      ":version": lease.version,
      ":leaseUntil": now + ttlMs,
      ":freed": run.compactionFreedHistory,
      ":defragmented": [...run.defragmented],
    };
    const assignments = [
      "#leaseUntil = :leaseUntil",
      "#compactionFreedHistory = :freed",
      "#defragmented = :defragmented",
    ];
    if (run.compactedRevision !== undefined) {
      assignments.push("#compactedRevision = :revision");
      values[":revision"] = run.compactedRevision;
    }
    return this.table.conditionalWrite(
      "saveUpkeepRun",
      async () => {
        await this.table.client.send(
          new UpdateCommand({
            TableName: this.table.tableName,
            Key: this.key(),
            UpdateExpression:
              `SET ${assignments.join(", ")}` +
              (run.compactedRevision === undefined ? " REMOVE #compactedRevision" : ""),
            ConditionExpression: "#holder = :holder AND #version = :version",
            ExpressionAttributeNames: NAMES,
            ExpressionAttributeValues: values,
          }),
        );
        return { ...lease, expiresAt: now + ttlMs };
      },
      async () => {
        throw new UpkeepLeaseLostError(lease.holder, lease.version);
      },
    );
  }

  /** Gives the lease up, keeping the progress; a lease already taken over is left to its holder. */
  async release(lease: UpkeepLease): Promise<void> {
    await this.table.conditionalWrite(
      "releaseUpkeepLease",
      async () => {
        await this.table.client.send(
          new UpdateCommand({
            TableName: this.table.tableName,
            Key: this.key(),
            UpdateExpression: "REMOVE #holder, #leaseUntil",
            ConditionExpression: "#holder = :holder AND #version = :version",
            ExpressionAttributeNames: {
              "#holder": "holder",
              "#leaseUntil": "leaseUntil",
              "#version": "version",
            },
            ExpressionAttributeValues: { ":holder": lease.holder, ":version": lease.version },
          }),
        );
      },
      async () => undefined,
    );
  }

  private parse(item: Record<string, unknown>): { lease: UpkeepLease | undefined; run: UpkeepRun } {
    const parsed = itemSchema.safeParse(item);
    if (!parsed.success) throw new LedgerCorruptItemError(this.keyOf(), z.prettifyError(parsed.error));
    const { holder, leaseUntil, version, compactedRevision, compactionFreedHistory, defragmented } =
      parsed.data;
    const run: UpkeepRun = {
      compactedRevision,
      compactionFreedHistory: compactionFreedHistory ?? false,
      defragmented: defragmented ?? [],
    };
    if (holder === undefined) return { lease: undefined, run };
    if (leaseUntil === undefined || version === undefined) {
      throw new LedgerCorruptItemError(this.keyOf(), "a holder without leaseUntil or version");
    }
    return { lease: { holder, expiresAt: leaseUntil, version }, run };
  }

  private key(): Record<string, string> {
    return this.table.key(this.pk, UPKEEP_RUN_SK);
  }

  private keyOf(): { pk: string; sk: string } {
    return { pk: this.pk, sk: UPKEEP_RUN_SK };
  }
}
