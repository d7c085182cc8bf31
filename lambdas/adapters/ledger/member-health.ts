// Member health in the ledger, beside the cluster's other items (pk = cluster#<name>):
//
//   sk = health#member#<instance ID>   one sighting per member (domain/member-health.ts): the
//                                      current silent streak, the last answer, the last answer
//                                      naming a leader
//   sk = health#replacement            the replacement in flight: instance, member, since, reason
//
// Sightings are written by every reconcile pass that has something new to say; a write from an older
// pass never overwrites a newer one (conditional on `observedAt`), so two reconcilers racing cannot
// move a streak backwards. The replacement item is claimed with a conditional write: it is written
// only when it holds no replacement, or the same one, so of two reconcilers deciding at once only one
// sets an instance Unhealthy. Finishing clears the fields and keeps the item.
import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { HealthSighting, ReplacementRecord, SightingChange } from "../../domain/member-health";
import * as z from "../../schema";
import { InvalidLedgerInputError, LedgerCorruptItemError } from "./errors";
import { requireText, requireTime } from "./input";
import { clusterPartition } from "./items";
import type { LedgerOptions } from "./ledger";
import { LEDGER_TABLE_SCHEMA } from "./table";
import { TableAccess } from "./table-access";

const { partitionKey: PK, sortKey: SK } = LEDGER_TABLE_SCHEMA;

export const HEALTH_SK_PREFIX = "health#";
const SIGHTING_SK_PREFIX = `${HEALTH_SK_PREFIX}member#`;
export const REPLACEMENT_SK = `${HEALTH_SK_PREFIX}replacement`;

export function sightingSortKey(instanceId: string): string {
  return `${SIGHTING_SK_PREFIX}${instanceId}`;
}

export interface MemberHealthState {
  readonly sightings: readonly HealthSighting[];
  readonly replacement: ReplacementRecord | undefined;
}

export interface StartReplacementResult {
  /** This replacement holds the record (newly, or already): its instance may be set Unhealthy. */
  readonly started: boolean;
  /** The replacement the ledger holds now. */
  readonly current: ReplacementRecord | undefined;
}

/** The replacement item's attributes, as every expression on it names them. */
const REPLACEMENT_NAMES = {
  "#instanceId": "instanceId",
  "#memberId": "memberId",
  "#since": "since",
  "#reason": "reason",
};

const time = () => z.int().check(z.gte(0));
const text = () => z.string().check(z.minLength(1));

const sightingItemSchema = z.object({
  instanceId: text(),
  memberId: z.string().check(z.regex(/^\d+$/, "etcd member IDs are decimal strings")),
  observedAt: time(),
  unhealthySince: z.optional(time()),
  lastUnhealthyAt: z.optional(time()),
  lastHealthyAt: z.optional(time()),
  lastSeenWithLeaderAt: z.optional(time()),
});

/** The item stays when a replacement finishes, without these fields. */
const replacementItemSchema = z.object({
  instanceId: z.optional(text()),
  memberId: z.optional(text()),
  since: z.optional(time()),
  reason: z.optional(z.string()),
});

export class MemberHealthLedger {
  private readonly table: TableAccess;
  private readonly pk: string;

  constructor(options: LedgerOptions) {
    requireText("cluster name", options.clusterName);
    requireText("table name", options.tableName);
    this.table = new TableAccess(options.client, options.tableName);
    this.pk = clusterPartition(options.clusterName);
  }

  /** Every sighting and the replacement in flight, with strong consistency, in one query. */
  async load(): Promise<MemberHealthState> {
    const sightings: HealthSighting[] = [];
    let replacement: ReplacementRecord | undefined;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.table.request("loadMemberHealth", () =>
        this.table.client.send(
          new QueryCommand({
            TableName: this.table.tableName,
            KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
            ExpressionAttributeNames: { "#pk": PK, "#sk": SK },
            ExpressionAttributeValues: { ":pk": this.pk, ":prefix": HEALTH_SK_PREFIX },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        const sk = String(item[SK]);
        if (sk === REPLACEMENT_SK) replacement = this.replacementFrom(item);
        else if (sk.startsWith(SIGHTING_SK_PREFIX)) sightings.push(this.sightingFrom(item));
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    sightings.sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0));
    return { sightings, replacement };
  }

  /** Applies a pass's sighting changes; a change older than what the ledger holds is skipped. */
  async applySightings(changes: readonly SightingChange[]): Promise<void> {
    await Promise.all(changes.map((change) => this.applySighting(change)));
  }

  /**
   * Records `record` as the replacement in flight, unless another one is. `started` is true when the
   * ledger now holds this replacement (written by this call, or already there for the same instance
   * and member): only then may the caller set the instance Unhealthy.
   */
  async startReplacement(record: ReplacementRecord): Promise<StartReplacementResult> {
    requireText("instance ID", record.instanceId);
    requireText("member ID", record.memberId);
    requireTime("since", record.since);
    return this.table.conditionalWrite(
      "startReplacement",
      async () => {
        const result = await this.table.client.send(
          new UpdateCommand({
            TableName: this.table.tableName,
            Key: this.table.key(this.pk, REPLACEMENT_SK),
            // A repeated start keeps the first time and reason: the retry delay counts from the first request.
            UpdateExpression:
              "SET #instanceId = :instanceId, #memberId = :memberId, #since = if_not_exists(#since, :since), #reason = if_not_exists(#reason, :reason)",
            ConditionExpression:
              "attribute_not_exists(#instanceId) OR (#instanceId = :instanceId AND #memberId = :memberId)",
            ExpressionAttributeNames: REPLACEMENT_NAMES,
            ExpressionAttributeValues: {
              ":instanceId": record.instanceId,
              ":memberId": record.memberId,
              ":since": record.since,
              ":reason": record.reason,
            },
            ReturnValues: "ALL_NEW",
          }),
        );
        const current = this.replacementFrom({
          ...this.table.key(this.pk, REPLACEMENT_SK),
          ...result.Attributes,
        });
        return { started: true, current };
      },
      async () => ({ started: false, current: (await this.load()).replacement }),
    );
  }

  /**
   * Clears the replacement `record` (as it was read from the ledger) once it is over. Returns false
   * when the ledger holds another one or none: a concurrent reconciler finished it first, and
   * whatever holds the item now stays.
   */
  async finishReplacement(record: ReplacementRecord): Promise<boolean> {
    return this.table.conditionalWrite(
      "finishReplacement",
      async () => {
        await this.table.client.send(
          new UpdateCommand({
            TableName: this.table.tableName,
            Key: this.table.key(this.pk, REPLACEMENT_SK),
            UpdateExpression: "REMOVE #instanceId, #memberId, #since, #reason",
            ConditionExpression: "#instanceId = :instanceId AND #memberId = :memberId AND #since = :since",
            ExpressionAttributeNames: REPLACEMENT_NAMES,
            ExpressionAttributeValues: {
              ":instanceId": record.instanceId,
              ":memberId": record.memberId,
              ":since": record.since,
            },
          }),
        );
        return true;
      },
      async () => false,
    );
  }

  private async applySighting(change: SightingChange): Promise<void> {
    if (change.kind === "forget") {
      requireText("instance ID", change.instanceId);
      requireTime("observedAt", change.observedAt);
      await this.table.conditionalWrite(
        "forgetSighting",
        () =>
          this.table.client.send(
            new DeleteCommand({
              TableName: this.table.tableName,
              Key: this.table.key(this.pk, sightingSortKey(change.instanceId)),
              ConditionExpression: "attribute_not_exists(#sk) OR #observedAt <= :observedAt",
              ExpressionAttributeNames: { "#sk": SK, "#observedAt": "observedAt" },
              ExpressionAttributeValues: { ":observedAt": change.observedAt },
            }),
          ),
        async () => undefined,
      );
      return;
    }
    const parsed = sightingItemSchema.safeParse(change.sighting);
    if (!parsed.success) throw new InvalidLedgerInputError("health sighting", z.prettifyError(parsed.error));
    const sighting = parsed.data;
    await this.table.conditionalWrite(
      "putSighting",
      () =>
        this.table.client.send(
          new PutCommand({
            TableName: this.table.tableName,
            // Absent times are left out rather than stored as null.
            Item: {
              ...withoutUndefined(sighting),
              ...this.table.key(this.pk, sightingSortKey(sighting.instanceId)),
            },
            ConditionExpression: "attribute_not_exists(#sk) OR #observedAt <= :observedAt",
            ExpressionAttributeNames: { "#sk": SK, "#observedAt": "observedAt" },
            ExpressionAttributeValues: { ":observedAt": sighting.observedAt },
          }),
        ),
      // A later pass has written this member already: its view stands.
      async () => undefined,
    );
  }

  private sightingFrom(item: Record<string, unknown>): HealthSighting {
    const key = { pk: String(item[PK]), sk: String(item[SK]) };
    const parsed = sightingItemSchema.safeParse(item);
    if (!parsed.success) throw new LedgerCorruptItemError(key, z.prettifyError(parsed.error));
    if (key.sk !== sightingSortKey(parsed.data.instanceId)) {
      throw new LedgerCorruptItemError(key, `it names instance ${parsed.data.instanceId}`);
    }
    const s = parsed.data;
    return {
      instanceId: s.instanceId,
      memberId: s.memberId,
      observedAt: s.observedAt,
      unhealthySince: s.unhealthySince,
      lastUnhealthyAt: s.lastUnhealthyAt,
      lastHealthyAt: s.lastHealthyAt,
      lastSeenWithLeaderAt: s.lastSeenWithLeaderAt,
    };
  }

  private replacementFrom(item: Record<string, unknown>): ReplacementRecord | undefined {
    const key = { pk: String(item[PK]), sk: String(item[SK]) };
    const parsed = replacementItemSchema.safeParse(item);
    if (!parsed.success) throw new LedgerCorruptItemError(key, z.prettifyError(parsed.error));
    const { instanceId, memberId, since, reason } = parsed.data;
    if (instanceId === undefined) return undefined;
    if (memberId === undefined || since === undefined) {
      throw new LedgerCorruptItemError(key, "a replacement without its member or its time");
    }
    return { instanceId, memberId, since, reason: reason ?? "" };
  }
}

function withoutUndefined<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
