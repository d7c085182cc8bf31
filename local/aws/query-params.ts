// Reads AWS Query-protocol requests: the form-encoded body (or URL query) as flat parameters, and
// the list conventions of the two dialects (`Names.member.1` for Auto Scaling, `Name.1` for EC2).
import { AwsApiError, missingParameterError } from "./api-error";

export type QueryParams = ReadonlyMap<string, string>;

export function parseQueryParams(body: string, search: string): QueryParams {
  const params = new Map<string, string>();
  for (const source of [search, body]) {
    for (const [key, value] of new URLSearchParams(source)) {
      params.set(key, value);
    }
  }
  return params;
}

export function requireParam(params: QueryParams, name: string): string {
  const value = params.get(name);
  if (value === undefined || value === "") {
    throw missingParameterError(name);
  }
  return value;
}

/** Values of `${prefix}.1`, `${prefix}.2`, … in index order. */
export function indexedValues(params: QueryParams, prefix: string): string[] {
  const pattern = new RegExp(`^${prefix.replace(/\./g, "\\.")}\\.(\\d+)$`);
  const entries: [number, string][] = [];
  for (const [key, value] of params) {
    const match = pattern.exec(key);
    if (match) {
      entries.push([Number(match[1]), value]);
    }
  }
  return entries.sort((a, b) => a[0] - b[0]).map(([, value]) => value);
}

/** Auto Scaling (awsQuery) lists: `${name}.member.N`. */
export function memberList(params: QueryParams, name: string): string[] {
  return indexedValues(params, `${name}.member`);
}

export function booleanParam(params: QueryParams, name: string): boolean {
  const value = requireParam(params, name);
  if (value !== "true" && value !== "false") {
    throw new AwsApiError("ValidationError", `Value '${value}' at '${name}' must be true or false`);
  }
  return value === "true";
}

export function integerParam(params: QueryParams, name: string): number {
  const value = requireParam(params, name);
  return toInteger(value, name);
}

/** An integer parameter that may be left out. */
export function optionalIntegerParam(params: QueryParams, name: string): number | undefined {
  const value = params.get(name);
  return value === undefined ? undefined : toInteger(value, name);
}

function toInteger(value: string, name: string): number {
  if (!/^-?\d+$/.test(value)) {
    throw new AwsApiError("ValidationError", `Value '${value}' at '${name}' must be an integer`);
  }
  return Number(value);
}
