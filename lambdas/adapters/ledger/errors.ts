// The ledger's errors, and the one place where DynamoDB and network errors become them.

import type { NodePhase } from "../../domain/snapshot";
import { EtcdAsgError } from "../../errors";

/** Base of every error the ledger adapter throws. */
export class LedgerError extends EtcdAsgError {
  override readonly name: string = "LedgerError";
}

/** Throttling, a 5xx or a network failure: the same request may succeed later. */
export class LedgerUnavailableError extends LedgerError {
  override readonly name = "LedgerUnavailableError";
  constructor(operation: string, cause: unknown) {
    super(`ledger ${operation} failed, retryable: ${describe(cause)}`, { cause, retryable: true });
  }
}

/** DynamoDB refused the request itself (missing table, access denied, invalid request). */
export class LedgerRequestError extends LedgerError {
  override readonly name = "LedgerRequestError";
  constructor(operation: string, cause: unknown) {
    super(`ledger ${operation} failed: ${describe(cause)}`, { cause, retryable: false });
  }
}

/** A caller passed a value the ledger cannot store; nothing was written. */
export class InvalidLedgerInputError extends LedgerError {
  override readonly name = "InvalidLedgerInputError";
  constructor(what: string, problem: string) {
    super(`invalid ${what}: ${problem}`, { retryable: false });
  }
}

/** An item read back does not have the shape this adapter writes. */
export class LedgerCorruptItemError extends LedgerError {
  override readonly name = "LedgerCorruptItemError";
  constructor(
    readonly key: { readonly pk: string; readonly sk: string },
    problem: string,
  ) {
    super(`ledger item pk=${key.pk} sk=${key.sk} is corrupt: ${problem}`, { retryable: false });
  }
}

/** A conditional write kept losing to concurrent writers of the same item. */
export class LedgerContentionError extends LedgerError {
  override readonly name = "LedgerContentionError";
  constructor(what: string) {
    super(`ledger ${what}: concurrent writers kept changing it, try again`, { retryable: true });
  }
}

export class UnknownNodeError extends LedgerError {
  override readonly name = "UnknownNodeError";
  constructor(readonly instanceId: string) {
    super(`instance ${instanceId} is not registered in the ledger`, { retryable: false });
  }
}

export class NodePhaseConflictError extends LedgerError {
  override readonly name = "NodePhaseConflictError";
  constructor(
    readonly instanceId: string,
    readonly expected: readonly NodePhase[],
    readonly actual: NodePhase,
  ) {
    super(`instance ${instanceId} is in phase ${actual}, expected ${expected.join(" or ")}`, {
      retryable: false,
    });
  }
}

/** A second registration of an instance named another private IP than the first. */
export class RegistrationConflictError extends LedgerError {
  override readonly name = "RegistrationConflictError";
  constructor(
    readonly instanceId: string,
    readonly registeredIp: string,
    readonly requestedIp: string,
  ) {
    super(`instance ${instanceId} is registered with private IP ${registeredIp}, not ${requestedIp}`, {
      retryable: false,
    });
  }
}

export class ClusterGenerationMismatchError extends LedgerError {
  override readonly name = "ClusterGenerationMismatchError";
  constructor(
    readonly expected: number,
    readonly actual: number | undefined,
  ) {
    super(
      `the ledger's cluster is ${actual === undefined ? "not fixed yet" : `generation ${actual}`}, expected generation ${expected}`,
      { retryable: false },
    );
  }
}

/** Someone else holds the membership lock; retry after `expiresAt` at the latest. */
export class LockHeldError extends LedgerError {
  override readonly name = "LockHeldError";
  constructor(
    readonly holder: string,
    readonly expiresAt: number,
  ) {
    super(`the membership lock is held by ${holder} until ${new Date(expiresAt).toISOString()}`, {
      retryable: true,
    });
  }
}

/** The caller's lock (holder + version) is no longer the current one: it expired and was taken over. */
export class LockLostError extends LedgerError {
  override readonly name = "LockLostError";
  constructor(
    readonly holder: string,
    readonly version: number,
  ) {
    super(`${holder} no longer holds the membership lock at version ${version}`, { retryable: false });
  }
}

/** The upkeep run's lease (holder + version) was taken over: the run must stop before its next step. */
export class UpkeepLeaseLostError extends LedgerError {
  override readonly name = "UpkeepLeaseLostError";
  constructor(
    readonly holder: string,
    readonly version: number,
  ) {
    super(`${holder} no longer holds the etcd upkeep lease at version ${version}`, { retryable: false });
  }
}

const RETRYABLE_ERROR_NAMES = new Set([
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "ThrottlingException",
  "InternalServerError",
  "ServiceUnavailable",
  "TransactionConflictException",
  "TimeoutError",
]);

const NETWORK_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $retryable?: unknown;
}

export function isConditionFailed(err: unknown): boolean {
  return (err as SdkErrorShape | undefined)?.name === "ConditionalCheckFailedException";
}

/** Turns anything a DynamoDB call threw (other than a failed condition) into a `LedgerError`. */
export function translateDynamoDbError(err: unknown, operation: string): LedgerError {
  if (err instanceof LedgerError) return err;
  const shape = (typeof err === "object" && err !== null ? err : {}) as SdkErrorShape;
  const status = shape.$metadata?.httpStatusCode;
  const retryable =
    (typeof shape.name === "string" && RETRYABLE_ERROR_NAMES.has(shape.name)) ||
    (typeof shape.code === "string" && NETWORK_ERROR_CODES.has(shape.code)) ||
    (typeof status === "number" && status >= 500) ||
    shape.$retryable !== undefined;
  return retryable ? new LedgerUnavailableError(operation, err) : new LedgerRequestError(operation, err);
}

function describe(cause: unknown): string {
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`;
  return String(cause);
}
