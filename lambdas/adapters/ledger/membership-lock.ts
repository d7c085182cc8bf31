// The membership lock: one holder at a time, a lease that expires, and a version bumped on every
// acquisition — the fencing token renew and release must show, so a holder whose lease ran out
// cannot act on the lock another holder took over.
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { MembershipLock } from "../../domain/snapshot";
import { LedgerContentionError, LedgerCorruptItemError, LockHeldError, LockLostError } from "./errors";
import { requireDuration, requireText, requireTime } from "./input";
import { LOCK_SK, lockFromItem } from "./items";
import { OPTIMISTIC_ATTEMPTS, type TableAccess } from "./table-access";

export class MembershipLocks {
  constructor(
    private readonly table: TableAccess,
    private readonly pk: string,
  ) {}

  /**
   * Takes the membership lock when nobody holds it, its lease has run out, or `holder` already has
   * it. Every acquisition bumps the version: the fencing token that renew and release must show.
   */
  async acquire(holder: string, ttlMs: number, now: number): Promise<MembershipLock> {
    requireText("lock holder", holder);
    requireDuration("lock TTL", ttlMs);
    requireTime("now", now);
    for (let attempt = 0; attempt < OPTIMISTIC_ATTEMPTS; attempt++) {
      const acquired = await this.table.conditionalWrite(
        "acquireLock",
        async () => {
          const result = await this.table.client.send(
            new UpdateCommand({
              TableName: this.table.tableName,
              Key: this.table.key(this.pk, LOCK_SK),
              UpdateExpression: "SET #holder = :holder, #leaseUntil = :leaseUntil ADD #version :one",
              ConditionExpression:
                "attribute_not_exists(#holder) OR #leaseUntil <= :now OR #holder = :holder",
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
          return this.lockFrom(result.Attributes);
        },
        async () => undefined,
      );
      if (acquired !== undefined) return acquired;
      const current = lockFromItemOrUndefined(await this.table.getItem("acquireLock", this.pk, LOCK_SK));
      // Released or expired between the write and this read: try again rather than report a stale holder.
      if (current !== undefined && current.expiresAt > now)
        throw new LockHeldError(current.holder, current.expiresAt);
    }
    throw new LedgerContentionError("membership lock");
  }

  /** Extends the lease of the lock `holder` took at `version`. */
  async renew(holder: string, version: number, ttlMs: number, now: number): Promise<MembershipLock> {
    requireDuration("lock TTL", ttlMs);
    requireTime("now", now);
    return this.table.conditionalWrite(
      "renewLock",
      async () => {
        const result = await this.table.client.send(
          new UpdateCommand({
            TableName: this.table.tableName,
            Key: this.table.key(this.pk, LOCK_SK),
            UpdateExpression: "SET #leaseUntil = :leaseUntil",
            ConditionExpression: "#holder = :holder AND #version = :version",
            ExpressionAttributeNames: {
              "#holder": "holder",
              "#leaseUntil": "leaseUntil",
              "#version": "version",
            },
            ExpressionAttributeValues: { ":holder": holder, ":version": version, ":leaseUntil": now + ttlMs },
            ReturnValues: "ALL_NEW",
          }),
        );
        return this.lockFrom(result.Attributes);
      },
      async () => {
        throw new LockLostError(holder, version);
      },
    );
  }

  /**
   * Gives the lock up. The item stays (without a holder) so versions keep counting up. A second
   * release of the same version fails with `LockLostError`, which a retrying caller may ignore.
   */
  async release(holder: string, version: number): Promise<void> {
    await this.table.conditionalWrite(
      "releaseLock",
      async () => {
        await this.table.client.send(
          new UpdateCommand({
            TableName: this.table.tableName,
            Key: this.table.key(this.pk, LOCK_SK),
            UpdateExpression: "REMOVE #holder, #leaseUntil",
            ConditionExpression: "#holder = :holder AND #version = :version",
            ExpressionAttributeNames: {
              "#holder": "holder",
              "#leaseUntil": "leaseUntil",
              "#version": "version",
            },
            ExpressionAttributeValues: { ":holder": holder, ":version": version },
          }),
        );
      },
      async () => {
        throw new LockLostError(holder, version);
      },
    );
  }

  private lockFrom(attributes: Record<string, unknown> | undefined): MembershipLock {
    const lock = lockFromItem({ ...this.table.key(this.pk, LOCK_SK), ...attributes });
    if (lock === undefined)
      throw new LedgerCorruptItemError(
        { pk: this.pk, sk: LOCK_SK },
        "no holder right after a write that set one",
      );
    return lock;
  }
}

function lockFromItemOrUndefined(item: Record<string, unknown> | undefined): MembershipLock | undefined {
  return item === undefined ? undefined : lockFromItem(item);
}
