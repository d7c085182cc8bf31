// Checks on what callers pass the ledger: a clear error naming the argument, before any write.
import { InvalidLedgerInputError } from "./errors";

export function requireText(what: string, value: string): void {
  if (typeof value !== "string" || value.length === 0) {
    throw new InvalidLedgerInputError(what, `${JSON.stringify(value)} is empty`);
  }
}

export function requireTime(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidLedgerInputError(what, `${value} is not epoch milliseconds`);
  }
}

export function requireDuration(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidLedgerInputError(what, `${value} is not a positive whole number`);
  }
}
