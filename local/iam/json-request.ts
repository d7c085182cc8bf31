// Reads a JSON-protocol request (DynamoDB, KMS): the operation its X-Amz-Target names and its body as
// an object. A malformed one reads as no operation or an empty input: the server refuses it itself.
import type { GateRequest } from "./front";

/** `DynamoDB_20120810.GetItem` with prefix `DynamoDB_20120810.` → `GetItem`; undefined for another service's. */
export function targetOperation(request: GateRequest, prefix: string): string | undefined {
  const header = request.headers["x-amz-target"];
  const target = (Array.isArray(header) ? header[0] : header) ?? "";
  return target.startsWith(prefix) ? target.slice(prefix.length) : undefined;
}

export function jsonInput(request: GateRequest): Record<string, unknown> {
  try {
    return asRecord(JSON.parse(request.body?.toString("utf8") ?? "{}"));
  } catch {
    return {};
  }
}

export function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
