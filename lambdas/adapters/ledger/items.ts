// The ledger's single-table item layout, and the checks that turn items read back into domain
// records. Every item of one cluster lives under one partition so `loadState` is a single Query:
//
//   pk = cluster#<name>                  sk = cluster               the cluster record
//                                        sk = registration-counter  last registration number given
//                                        sk = lock                  the membership lock
//                                        sk = node#<instance ID>    one node record per instance
//                                        sk = ca#peer, ca#client    published CA certificates
//                                                                   (certificate-authorities.ts)
//                                        sk = health#member#<id>    member health sightings and
//                                        sk = health#replacement    the replacement in flight
//                                                                   (member-health.ts)
//                                        sk = upkeep#run            etcd upkeep's lease and NOSPACE
//                                                                   recovery's progress
//                                                                   (upkeep-runs.ts)
//                                        sk = snapshot#latest       the newest checked snapshot in
//                                                                   S3 (durability.ts)
//                                        sk = restore#request       an operator's restore of a named
//                                                                   snapshot (durability.ts)
//   pk = cluster#<name>#lifecycle-tokens sk = <token>               processed lifecycle actions
//
// Tokens have their own partition: they are not part of the state the engine reads, and there may
// be many of them until their TTL removes them.
import { type ClusterRecord, type MembershipLock, NODE_PHASES, type NodeRecord } from "../../domain/snapshot";
import * as z from "../../schema";
import { LedgerCorruptItemError } from "./errors";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A node's published configuration: JSON the ledger stores and returns without looking inside. */
export type NodeConfig = { readonly [key: string]: JsonValue };

/** A node record with what the control plane publishes for it. */
export interface LedgerNode extends NodeRecord {
  /** etcd's member ID (decimal string) once the node was added to etcd. */
  readonly memberId: string | undefined;
  readonly config: NodeConfig | undefined;
}

export const CLUSTER_SK = "cluster";
export const REGISTRATION_COUNTER_SK = "registration-counter";
export const LOCK_SK = "lock";
const NODE_SK_PREFIX = "node#";

export function clusterPartition(clusterName: string): string {
  return `cluster#${clusterName}`;
}

export function tokenPartition(clusterName: string): string {
  return `cluster#${clusterName}#lifecycle-tokens`;
}

export function nodeSortKey(instanceId: string): string {
  return `${NODE_SK_PREFIX}${instanceId}`;
}

export function isNodeSortKey(sk: string): boolean {
  return sk.startsWith(NODE_SK_PREFIX);
}

export const nodeConfigSchema = z.record(z.string(), z.json());

const memberIdSchema = z.string().check(z.regex(/^\d+$/, "etcd member IDs are decimal strings"));
const text = () => z.string().check(z.minLength(1));
const atLeast = (min: number) => z.int().check(z.gte(min));

const sha256Hex = () => z.string().check(z.regex(/^[0-9a-f]{64}$/, "a lower-case hex SHA-256"));

/** The member a snapshot was streamed from. */
export const snapshotMemberSchema = z.object({ instanceId: text(), memberId: memberIdSchema });

/** Where a generation opened by recovery restores from (domain/durability.ts RestoreSource). */
export const restoreSourceSchema = z.object({
  kind: z.literal("snapshot"),
  key: text(),
  sha256: sha256Hex(),
  size: atLeast(1),
  revision: atLeast(0),
  token: text(),
  generation: atLeast(1),
  member: snapshotMemberSchema,
});

/** A snapshot record (domain/durability.ts SnapshotRecord) as durability.ts stores it. */
export const snapshotRecordSchema = z.object({
  key: text(),
  token: text(),
  generation: atLeast(1),
  revision: atLeast(0),
  maxRevision: z.optional(atLeast(0)),
  size: atLeast(1),
  sha256: sha256Hex(),
  member: snapshotMemberSchema,
  takenAt: atLeast(0),
});

export const clusterRecordSchema = z.object({
  token: text(),
  generation: atLeast(1),
  size: atLeast(1),
  initialMembers: z.array(z.object({ instanceId: text(), peerUrl: text() })).check(
    z.minLength(1),
    z.refine(
      (members) => new Set(members.map((m) => m.instanceId)).size === members.length,
      "an instance appears twice in the initial members",
    ),
  ),
  state: z.enum(["forming", "running"]),
  // Both absent on a bootstrap's record and on every record written before recovery existed.
  restoreSource: z.optional(restoreSourceSchema),
  openedAt: z.optional(atLeast(0)),
  // etcd's cluster version as major.minor, recorded by the reconciler once every member reported one.
  etcdVersion: z.optional(z.string().check(z.regex(/^\d{1,4}\.\d{1,4}$/, "major.minor, e.g. 3.5"))),
});

const nodeItemSchema = z.object({
  instanceId: text(),
  privateIp: text(),
  registration: atLeast(1),
  phase: z.enum(NODE_PHASES),
  phaseSince: atLeast(0),
  memberId: z.optional(memberIdSchema),
  // Stored as a JSON string so the round trip is exact whatever marshalling options the caller's
  // DocumentClient has (undefined values, empty sets, number wrapping).
  configJson: z.optional(z.string()),
  etcdVersion: z.optional(text()),
});

/** The lock item stays after release (no holder) so its version keeps counting up. */
const lockItemSchema = z.object({
  version: atLeast(1),
  holder: z.optional(text()),
  leaseUntil: z.optional(z.int()),
});

const tokenItemSchema = z.object({ outcome: text() });

type Item = Record<string, unknown>;

function parseItem<T>(schema: z.ZodMiniType<T>, item: Item, key: { pk: string; sk: string }): T {
  const result = schema.safeParse(item);
  if (!result.success) throw new LedgerCorruptItemError(key, z.prettifyError(result.error));
  return result.data;
}

function keyOf(item: Item): { pk: string; sk: string } {
  return { pk: String(item.pk), sk: String(item.sk) };
}

export function clusterFromItem(item: Item): ClusterRecord {
  return parseItem(clusterRecordSchema, item, keyOf(item));
}

export function nodeFromItem(item: Item): LedgerNode {
  const key = keyOf(item);
  const { configJson, memberId, ...record } = parseItem(nodeItemSchema, item, key);
  if (key.sk !== nodeSortKey(record.instanceId)) {
    throw new LedgerCorruptItemError(key, `it names instance ${record.instanceId}`);
  }
  return { ...record, memberId, config: configJson === undefined ? undefined : parseConfig(configJson, key) };
}

function parseConfig(json: string, key: { pk: string; sk: string }): NodeConfig {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new LedgerCorruptItemError(key, `configJson is not JSON (${(err as Error).message})`);
  }
  return parseItem(nodeConfigSchema, value as Item, key) as NodeConfig;
}

/** The lock as the engine sees it, or undefined when nobody holds it. */
export function lockFromItem(item: Item): MembershipLock | undefined {
  return lockItemFrom(item).lock;
}

/** The lock as the engine sees it, and the item's version whether or not anybody holds it. */
export function lockItemFrom(item: Item): { lock: MembershipLock | undefined; version: number } {
  const { holder, leaseUntil, version } = parseItem(lockItemSchema, item, keyOf(item));
  if (holder === undefined) return { lock: undefined, version };
  if (leaseUntil === undefined) throw new LedgerCorruptItemError(keyOf(item), "a holder without leaseUntil");
  return { lock: { holder, expiresAt: leaseUntil, version }, version };
}

export function registrationFromCounterItem(item: Item): number {
  return parseItem(z.object({ value: atLeast(1) }), item, keyOf(item)).value;
}

export function tokenOutcomeFromItem(item: Item): string {
  return parseItem(tokenItemSchema, item, keyOf(item)).outcome;
}
