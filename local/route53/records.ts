// Route 53's rules for DNS names and record values: how it normalizes a name (lowercase, final dot,
// octal escapes for characters outside letters, digits, `-` and `_`), the order ListResourceRecordSets
// and ListHostedZonesByName return (labels reversed, then record type), and what it accepts as the
// value of each record type, refused in its words ("FATAL problem: …").
import { isIPv4, isIPv6 } from "node:net";

/** The record types Route 53 knows (RRType). */
export const RECORD_TYPES = [
  "SOA",
  "A",
  "TXT",
  "NS",
  "CNAME",
  "MX",
  "NAPTR",
  "PTR",
  "SRV",
  "SPF",
  "AAAA",
  "CAA",
  "DS",
  "TLSA",
  "SSHFP",
  "SVCB",
  "HTTPS",
] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

export function isRecordType(value: string): value is RecordType {
  return (RECORD_TYPES as readonly string[]).includes(value);
}

/** A simple-routing record set as Route 53 holds it. */
export interface RecordSet {
  /** Normalized: lowercase, escaped, with the final dot. */
  readonly name: string;
  readonly type: RecordType;
  readonly ttl: number;
  readonly values: readonly string[];
}

/**
 * `www.Example.com` → `www.example.com.`. Route 53 keeps letters, digits, `-` and `_` and writes any
 * other character as `\ooo` (so `*` comes back as `\052`); escapes already in the name are kept.
 */
export function normalizeName(name: string): string {
  const absolute = name.endsWith(".") ? name : `${name}.`;
  let out = "";
  for (let i = 0; i < absolute.length; i++) {
    const c = absolute[i] as string;
    if (c === "\\" && /^\d{3}$/.test(absolute.slice(i + 1, i + 4))) {
      out += absolute.slice(i, i + 4);
      i += 3;
    } else if (/[a-z0-9_.-]/.test(c.toLowerCase())) {
      out += c.toLowerCase();
    } else {
      out += `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`;
    }
  }
  return out;
}

/** The name's labels, most significant first: `www.example.com.` → [com, example, www]. */
export function reversedLabels(name: string): string[] {
  return name
    .split(".")
    .filter((label) => label !== "")
    .reverse();
}

/** Route 53's listing order: by name with the labels reversed, label by label. */
export function compareNames(a: string, b: string): number {
  const x = reversedLabels(a);
  const y = reversedLabels(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const order = compareStrings(x[i] as string, y[i] as string);
    if (order !== 0) return order;
  }
  return x.length - y.length;
}

export function compareRecordSets(
  a: Pick<RecordSet, "name" | "type">,
  b: Pick<RecordSet, "name" | "type">,
): number {
  return compareNames(a.name, b.name) || compareStrings(a.type, b.type);
}

/** `name` is `zone` or below it (both normalized). */
export function isWithin(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/** Why a DNS name is not valid, or undefined. */
export function nameProblem(name: string): string | undefined {
  const labels = name.split(".").filter((label) => label !== "");
  if (labels.length === 0) return "the name has no labels";
  if (name.length > 255)
    return `FATAL problem: DomainNameTooLong (Domain name is too long) encountered with '${name}'`;
  const long = labels.find((label) => label.length > 63);
  if (long !== undefined) {
    return `FATAL problem: DomainLabelTooLong (Domain label is too long) encountered with '${long}'`;
  }
  if (name.includes(".."))
    return `FATAL problem: DomainLabelEmpty (Domain label is empty) encountered with '${name}'`;
  return undefined;
}

/** Why `value` is not a valid record of `type`, in Route 53's words, or undefined. */
export function valueProblem(type: RecordType, value: string): string | undefined {
  const fatal = (code: string, what: string) =>
    `Invalid Resource Record: 'FATAL problem: ${code} (${what}) encountered with '${value}''`;
  const fields = value.trim().split(/\s+/);
  switch (type) {
    case "A":
      if (/\s/.test(value.trim())) return fatal("ARRDATANotSingleField", "Value contains spaces");
      return isIPv4(value)
        ? undefined
        : fatal("ARRDATAIllegalIPv4Address", "Value is not a valid IPv4 address");
    case "AAAA":
      return isIPv6(value)
        ? undefined
        : fatal("AAAARRDATAIllegalIPv6Address", "Value is not a valid IPv6 address");
    case "CNAME":
    case "NS":
    case "PTR":
      if (fields.length !== 1) return fatal(`${type}RRDATANotSingleField`, "Value contains spaces");
      return nameProblem(value) === undefined
        ? undefined
        : fatal("DomainNameInvalid", "Value is not a valid domain name");
    case "SRV": {
      if (fields.length !== 4) return fatal("SRVRRDATATooFewFields", "Value must have four fields");
      const [priority, weight, port, target] = fields as [string, string, string, string];
      if (![priority, weight, port].every((n) => /^\d+$/.test(n) && Number(n) <= 65535)) {
        return fatal("SRVRRDATAIllegalNumber", "Priority, weight and port must be integers from 0 to 65535");
      }
      return nameProblem(target) === undefined
        ? undefined
        : fatal("DomainNameInvalid", "Target is not a valid domain name");
    }
    case "MX":
      if (fields.length !== 2 || !/^\d+$/.test(fields[0] as string) || Number(fields[0]) > 65535) {
        return fatal("MXRRDATANotTwoFields", "Value must be a priority and a domain name");
      }
      return undefined;
    case "TXT":
    case "SPF":
      return /^(\s*"(?:[^"\\]|\\.){0,255}")+\s*$/.test(value) || !value.includes('"')
        ? undefined
        : fatal("CharacterStringTooLong", "Value is too long or badly quoted");
    case "SOA":
      return fields.length === 7 && fields.slice(2).every((n) => /^\d+$/.test(n))
        ? undefined
        : fatal("SOARRDATANotSevenFields", "Value must have seven fields");
    default:
      return undefined;
  }
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
