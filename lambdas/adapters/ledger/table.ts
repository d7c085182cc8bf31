// The ledger table's key schema, shared by the CDK stack, the local simulator and the adapter.
// Changing a name here means a new table: DynamoDB cannot rename keys.

export const LEDGER_TABLE_SCHEMA = {
  /** Partition key (string): one cluster's items share one partition, see items.ts. */
  partitionKey: "pk",
  /** Sort key (string): which item of the cluster. */
  sortKey: "sk",
  /**
   * TTL attribute, epoch seconds. Only processed lifecycle-action tokens carry it: the lock and the
   * counters must never expire, or their version numbers would start over.
   */
  timeToLiveAttribute: "expiresAt",
} as const;
