// What the fuzzer fires and at what: one generated input for one handler, with what its refusal
// must name, and the facts about the formed cluster the generators need (real instance IDs are
// used only where the input must be refused before anything acts on them).
export type FuzzHandler = "launch" | "terminate" | "node-api";

export interface FuzzInput {
  readonly handler: FuzzHandler;
  /** What was made wrong, e.g. "missing field" or "forged caller identity". */
  readonly category: string;
  readonly event: unknown;
  /** The refusal's reason must match this: it names the field or fact that was wrong. */
  readonly names: RegExp;
  /** A lifecycle action token the input carries that could pass validation: it must never be recorded. */
  readonly token?: string;
}

export interface FuzzTarget {
  readonly asgName: string;
  readonly launchHook: string;
  readonly terminateHook: string;
  readonly account: string;
  /** The role the node API accepts callers from. */
  readonly nodeRole: string;
  /** The group's instances (all etcd members): inputs about them must be refused. */
  readonly instanceIds: readonly string[];
}

/** The refusal for a well-formed input about an instance that is not in the group. */
export const UNKNOWN_INSTANCE = /is not an instance of Auto Scaling group/;

const DELETE = Symbol("delete");

/** A copy of `value` with the property at `path` set (copies along the path keep own `__proto__` keys). */
export function withPath(value: unknown, path: readonly string[], replacement: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return replacement;
  const object = isRecord(value) ? value : {};
  const copy: Record<string, unknown> = { ...object };
  const next = rest.length === 0 ? replacement : withPath(object[head], rest, replacement);
  if (next === DELETE) delete copy[head];
  else
    Object.defineProperty(copy, head, { value: next, enumerable: true, writable: true, configurable: true });
  return copy;
}

export function withoutPath(value: unknown, path: readonly string[]): unknown {
  return withPath(value, path, DELETE);
}

/** `{ ...value, ...extra }` keeping every key of `extra` an own property. */
export function withExtra(value: unknown, extra: Record<string, unknown>): unknown {
  return { ...(isRecord(value) ? value : {}), ...extra };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
