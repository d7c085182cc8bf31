// EventBridge's event-pattern language, so the simulator delivers an event only to the rules whose
// EventPattern (from the synthesized template) matches it, as EventBridge would. A pattern is
// checked once, when it is compiled, with EventBridge's refusals (`InvalidEventPatternError` names
// the offending place); `matches` then answers per event.
//
// Semantics follow AWS's documentation and Event Ruler (the library EventBridge runs):
// - The event is seen as its leaves: (dotted path, value) for every string, number, boolean and null,
//   arrays crushed (any element may match; nested arrays too). Empty arrays and empty objects have
//   no leaves, so they do not "exist"; an object is never a leaf, so `exists` does not see it.
// - A pattern is an AND of fields, each field an OR of its values; `$or` ORs whole sub-patterns.
// - Fields matched inside objects that are elements of an array must come from the same element
//   (Ruler's "array-consistent" matching): {"a":{"x":[1],"y":[2]}} does not match
//   {"a":[{"x":1},{"y":2}]}.
// - `exists: false` is true when the event has no leaf at that path anywhere.
// - `anything-but` matches any present leaf (of any type) that it does not exclude.
// Differences from EventBridge, because JSON.parse has already run on both sides: numbers are
// compared by value (AWS's docs say 300 and 300.0 differ; Ruler matches them since it added numeric
// equality), and a string that is an IP address is matched as a string, not as an address.
import { BlockList, isIPv4, isIPv6 } from "node:net";

/** EventBridge refuses the pattern (PutRule's InvalidEventPatternException). */
export class InvalidEventPatternError extends Error {
  override readonly name = "InvalidEventPatternError";

  constructor(
    /** What is wrong, in EventBridge's words where it has some. */
    readonly reason: string,
    /** Where in the pattern, e.g. `detail.state[0].numeric`; empty for the pattern itself. */
    readonly path: string,
  ) {
    super(`Event pattern is not valid. Reason: ${reason}${path === "" ? "" : ` (at ${path})`}`);
  }
}

export interface EventPattern {
  /** True when EventBridge would deliver `event` to a rule with this pattern. */
  matches(event: unknown): boolean;
}

/** Compiles a pattern (an object, or its JSON text as a template may hold it); throws
 * InvalidEventPatternError when EventBridge would refuse it. */
export function compileEventPattern(pattern: unknown): EventPattern {
  let parsed = pattern;
  if (typeof pattern === "string") {
    try {
      parsed = JSON.parse(pattern);
    } catch {
      throw new InvalidEventPatternError("Invalid JSON", "");
    }
  }
  if (!isPlainObject(parsed)) throw new InvalidEventPatternError("Filter is not an object", "");
  const branches = compileObject(parsed, [], "", false);
  return {
    matches: (event) => {
      const leaves = leavesOf(event);
      return branches.some((branch) => matchesBranch(branch, leaves));
    },
  };
}

/** One-shot form of `compileEventPattern(pattern).matches(event)`. */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  return compileEventPattern(pattern).matches(event);
}

// ---------------------------------------------------------------------------------------------
// Compiled form: the pattern's $or alternatives multiplied out into branches (as Ruler does); a
// branch is an AND of conditions on one leaf path each.

type Scalar = string | number | boolean | null;

type ValueTest = (value: Scalar) => boolean;

interface Condition {
  readonly path: string;
  /** Tests a present leaf; the field matches when one of them accepts one of its leaves. */
  readonly tests: readonly ValueTest[];
  /** `exists: false` is one of the field's values. */
  readonly absentMatches: boolean;
}

type Branch = readonly Condition[];

/** Ruler multiplies $or out; this many branches is far beyond any real rule. */
const MAX_BRANCHES = 1024;

/** Field names that may not appear inside `$or` (Ruler's reserved words). */
const RESERVED_IN_OR = new Set([
  "anything-but",
  "cidr",
  "equals-ignore-case",
  "exactly",
  "exists",
  "numeric",
  "prefix",
  "suffix",
  "wildcard",
]);

/** EventBridge's documented numeric range. */
const NUMERIC_LIMIT = 5e9;

function compileObject(
  object: Readonly<Record<string, unknown>>,
  prefix: readonly string[],
  where: string,
  insideOr: boolean,
): Branch[] {
  const keys = Object.keys(object);
  if (keys.length === 0) throw new InvalidEventPatternError("Empty objects are not allowed", where);
  let branches: Branch[] = [[]];
  for (const key of keys) {
    const value = object[key];
    const at = where === "" ? key : `${where}.${key}`;
    if (key === "$or") {
      if (!Array.isArray(value)) {
        throw new InvalidEventPatternError("It must be an Array followed with $or.", at);
      }
      if (value.length < 2) {
        throw new InvalidEventPatternError("There must have at least 2 Objects in $or relationship.", at);
      }
      const alternatives = value.flatMap((alternative, index) => {
        if (!isPlainObject(alternative)) {
          throw new InvalidEventPatternError(
            "Only JSON object is allowed in array of $or relationship.",
            `${at}[${index}]`,
          );
        }
        return compileObject(alternative, prefix, `${at}[${index}]`, true);
      });
      branches = cross(branches, alternatives, at);
      continue;
    }
    if (insideOr && RESERVED_IN_OR.has(key)) {
      throw new InvalidEventPatternError(
        `${key} is Ruler reserved fieldName which cannot be used inside $or.`,
        at,
      );
    }
    if (isPlainObject(value)) {
      branches = cross(branches, compileObject(value, [...prefix, key], at, insideOr), at);
    } else if (Array.isArray(value)) {
      const condition = compileField([...prefix, key].join("."), value, at);
      branches = branches.map((branch) => [...branch, condition]);
    } else {
      throw new InvalidEventPatternError(`"${key}" must be an object or an array`, at);
    }
  }
  return branches;
}

function cross(left: readonly Branch[], right: readonly Branch[], where: string): Branch[] {
  if (left.length * right.length > MAX_BRANCHES) {
    throw new InvalidEventPatternError(
      `the pattern's $or combinations exceed ${MAX_BRANCHES} alternatives`,
      where,
    );
  }
  return left.flatMap((l) => right.map((r) => [...l, ...r]));
}

function compileField(path: string, values: readonly unknown[], where: string): Condition {
  if (values.length === 0) throw new InvalidEventPatternError("Empty arrays are not allowed", where);
  const tests: ValueTest[] = [];
  let absentMatches = false;
  values.forEach((value, index) => {
    const at = `${where}[${index}]`;
    if (isScalar(value)) {
      tests.push((leaf) => leaf === value);
    } else if (isPlainObject(value)) {
      const operator = compileOperator(value, at);
      if (operator === "absent") absentMatches = true;
      else tests.push(operator);
    } else {
      throw new InvalidEventPatternError("Match value must be String, number, true, false, or null", at);
    }
  });
  return { path, tests, absentMatches };
}

/** One `{ "<operator>": … }` match expression: a test of a present leaf, or "absent" for
 * `exists: false`. */
function compileOperator(expression: Readonly<Record<string, unknown>>, where: string): ValueTest | "absent" {
  const { operator, argument, at } = singleOperator(expression, where);
  switch (operator) {
    case "prefix":
    case "suffix": {
      const { text, ignoreCase } = affix(operator, argument, at);
      return stringTest((leaf) => hasAffix(operator, leaf, text, ignoreCase));
    }
    case "equals-ignore-case": {
      const text = requireString(argument, "equals-ignore-case match pattern must be a string", at);
      return stringTest((leaf) => leaf.toLowerCase() === text.toLowerCase());
    }
    case "wildcard": {
      const regex = wildcardRegex(requireString(argument, "wildcard match pattern must be a string", at), at);
      return stringTest((leaf) => regex.test(leaf));
    }
    case "anything-but": {
      const excluded = anythingBut(argument, at);
      return (leaf) => !excluded(leaf);
    }
    case "numeric":
      return numeric(argument, at);
    case "exists":
      if (argument === true) return () => true;
      if (argument === false) return "absent";
      throw new InvalidEventPatternError("exists match pattern must be either true or false.", at);
    case "cidr":
      return cidr(argument, at);
    default:
      throw new InvalidEventPatternError(`Unrecognized match type ${operator}`, at);
  }
}

/** A match expression's one key and its argument. */
function singleOperator(
  expression: Readonly<Record<string, unknown>>,
  where: string,
): { operator: string; argument: unknown; at: string } {
  const keys = Object.keys(expression);
  if (keys.length === 0) throw new InvalidEventPatternError("Match expression name not found", where);
  if (keys.length > 1) throw new InvalidEventPatternError("Only one key allowed in match expression", where);
  const operator = keys[0] as string;
  return { operator, argument: expression[operator], at: `${where}.${operator}` };
}

/** `prefix`/`suffix`: a string, or `{ "equals-ignore-case": string }`. */
function affix(operator: string, argument: unknown, where: string): { text: string; ignoreCase: boolean } {
  if (typeof argument === "string") return { text: argument, ignoreCase: false };
  if (isPlainObject(argument)) {
    const keys = Object.keys(argument);
    if (keys.length === 1 && keys[0] === "equals-ignore-case") {
      const text = requireString(
        argument["equals-ignore-case"],
        `${operator} equals-ignore-case match pattern must be a string`,
        `${where}.equals-ignore-case`,
      );
      return { text, ignoreCase: true };
    }
  }
  throw new InvalidEventPatternError(
    `${operator} match pattern must be a string or an equals-ignore-case object`,
    where,
  );
}

function hasAffix(operator: "prefix" | "suffix", value: string, text: string, ignoreCase: boolean): boolean {
  const [v, t] = ignoreCase ? [value.toLowerCase(), text.toLowerCase()] : [value, text];
  return operator === "prefix" ? v.startsWith(t) : v.endsWith(t);
}

/** What an `anything-but` excludes. */
function anythingBut(argument: unknown, where: string): ValueTest {
  if (typeof argument === "string" || typeof argument === "number") return (leaf) => leaf === argument;
  if (Array.isArray(argument)) {
    const allStrings = argument.length > 0 && argument.every((v) => typeof v === "string");
    const allNumbers = argument.length > 0 && argument.every((v) => typeof v === "number");
    if (!allStrings && !allNumbers) {
      throw new InvalidEventPatternError(
        "Inside anything but list, either all values are number or string, mixed type is not supported",
        where,
      );
    }
    const set = new Set<unknown>(argument);
    return (leaf) => set.has(leaf);
  }
  if (isPlainObject(argument)) {
    const { operator, argument: inner, at } = singleOperator(argument, where);
    switch (operator) {
      case "prefix":
      case "suffix": {
        const text = requireString(inner, "prefix/suffix match pattern must be a string", at);
        if (text === "") throw new InvalidEventPatternError("Null prefix/suffix not allowed", at);
        return stringTest((leaf) => hasAffix(operator, leaf, text, false));
      }
      case "equals-ignore-case": {
        const texts = stringOrStrings(inner, "equals-ignore-case", at).map((t) => t.toLowerCase());
        return stringTest((leaf) => texts.includes(leaf.toLowerCase()));
      }
      case "wildcard": {
        const regexes = stringOrStrings(inner, "wildcard", at).map((w, i) => wildcardRegex(w, `${at}[${i}]`));
        return stringTest((leaf) => regexes.some((regex) => regex.test(leaf)));
      }
      default:
        throw new InvalidEventPatternError(`Unsupported anything-but pattern: ${operator}`, at);
    }
  }
  throw new InvalidEventPatternError(
    "Value of anything-but must be an array or single string/number value.",
    where,
  );
}

/** `numeric`: `["=", n]`, `[">"|">=", n]`, `["<"|"<=", n]` or `[">"|">=", n, "<"|"<=", m]`. */
function numeric(argument: unknown, where: string): ValueTest {
  if (!Array.isArray(argument)) {
    throw new InvalidEventPatternError("Value of numeric must be an array.", where);
  }
  const terms: Array<{ operator: string; value: number }> = [];
  for (let i = 0; i < argument.length; i += 2) {
    const operator = argument[i];
    const value = argument[i + 1];
    if (typeof operator !== "string" || !["=", "<", "<=", ">", ">="].includes(operator)) {
      throw new InvalidEventPatternError(`Unrecognized numeric range operator: ${String(operator)}`, where);
    }
    if (typeof value !== "number") {
      throw new InvalidEventPatternError(`Value of ${operator} must be numeric`, where);
    }
    if (Math.abs(value) > NUMERIC_LIMIT) {
      throw new InvalidEventPatternError("numeric values must be between -5.0e9 and 5.0e9, inclusive", where);
    }
    terms.push({ operator, value });
  }
  const [first, second] = terms;
  if (first === undefined) throw new InvalidEventPatternError("Value of numeric must not be empty", where);
  const lower = first.operator.startsWith(">");
  if (terms.length > 2 || (second !== undefined && (!lower || !second.operator.startsWith("<")))) {
    throw new InvalidEventPatternError(
      'Too many elements in numeric expression: a range is [">"|">=", low, "<"|"<=", high]',
      where,
    );
  }
  if (second !== undefined && first.value >= second.value) {
    throw new InvalidEventPatternError("Bottom must be less than top", where);
  }
  const accepts = (value: number) =>
    terms.every(({ operator, value: bound }) => {
      switch (operator) {
        case "=":
          return value === bound;
        case "<":
          return value < bound;
        case "<=":
          return value <= bound;
        case ">":
          return value > bound;
        default:
          return value >= bound;
      }
    });
  // Ruler cannot represent event numbers beyond the limit either: they never match a range.
  return (leaf) => typeof leaf === "number" && Math.abs(leaf) <= NUMERIC_LIMIT && accepts(leaf);
}

function cidr(argument: unknown, where: string): ValueTest {
  const text = requireString(argument, "cidr match pattern must be a string", where);
  const match = /^([^/]+)\/(\d{1,3})$/.exec(text);
  const address = match?.[1] ?? "";
  const bits = Number(match?.[2]);
  const family = isIPv4(address) ? "ipv4" : isIPv6(address) ? "ipv6" : undefined;
  if (family === undefined || bits > (family === "ipv4" ? 32 : 128)) {
    throw new InvalidEventPatternError(`Malformed CIDR, one '/' required: ${text}`, where);
  }
  const block = new BlockList();
  block.addSubnet(address, bits, family);
  return stringTest((leaf) => {
    const leafFamily = isIPv4(leaf) ? "ipv4" : isIPv6(leaf) ? "ipv6" : undefined;
    return leafFamily === family && block.check(leaf, family);
  });
}

/** `*` matches any run of characters; `\*` is a literal star, `\\` a literal backslash. */
function wildcardRegex(pattern: string, where: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "\\") {
      const next = pattern[i + 1];
      if (next !== "*" && next !== "\\") {
        throw new InvalidEventPatternError(
          "Backslash is only allowed to escape * or \\ in a wildcard pattern",
          where,
        );
      }
      source += `\\${next}`;
      i++;
    } else if (c === "*") {
      if (pattern[i + 1] === "*") {
        throw new InvalidEventPatternError("Consecutive wildcard characters are not allowed", where);
      }
      source += "[\\s\\S]*";
    } else {
      source += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    }
  }
  return new RegExp(`^${source}$`, "u");
}

function stringTest(test: (value: string) => boolean): ValueTest {
  return (leaf) => typeof leaf === "string" && test(leaf);
}

function stringOrStrings(value: unknown, operator: string, where: string): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string")) return value;
  throw new InvalidEventPatternError(
    `anything-but ${operator} must be a string or a non-empty list of strings`,
    where,
  );
}

function requireString(value: unknown, reason: string, where: string): string {
  if (typeof value !== "string") throw new InvalidEventPatternError(reason, where);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Matching.

interface Leaf {
  readonly path: string;
  readonly value: Scalar;
  /** For each array the leaf is inside: that array's identity and the element's index. */
  readonly arrays: ReadonlyMap<number, number>;
}

function leavesOf(event: unknown): Map<string, Leaf[]> {
  const byPath = new Map<string, Leaf[]>();
  let nextArray = 0;
  const walk = (value: unknown, path: readonly string[], arrays: ReadonlyMap<number, number>) => {
    if (Array.isArray(value)) {
      const id = nextArray++;
      value.forEach((element, index) => {
        walk(element, path, new Map(arrays).set(id, index));
      });
    } else if (isPlainObject(value)) {
      for (const [key, child] of Object.entries(value)) walk(child, [...path, key], arrays);
    } else if (isScalar(value) && path.length > 0) {
      const key = path.join(".");
      const leaves = byPath.get(key) ?? [];
      leaves.push({ path: key, value, arrays });
      byPath.set(key, leaves);
    }
  };
  walk(event, [], new Map());
  return byPath;
}

/** Every condition holds, each with a leaf of its own, the chosen leaves consistent with each
 * other inside arrays (backtracking: events and patterns are small). */
function matchesBranch(branch: Branch, leaves: ReadonlyMap<string, readonly Leaf[]>): boolean {
  const choose = (index: number, chosen: readonly Leaf[]): boolean => {
    const condition = branch[index];
    if (condition === undefined) return true;
    const present = leaves.get(condition.path) ?? [];
    if (present.length === 0) return condition.absentMatches && choose(index + 1, chosen);
    return present.some(
      (leaf) =>
        condition.tests.some((test) => test(leaf.value)) &&
        chosen.every((other) => consistent(leaf, other)) &&
        choose(index + 1, [...chosen, leaf]),
    );
  };
  return choose(0, []);
}

function consistent(a: Leaf, b: Leaf): boolean {
  for (const [array, index] of a.arrays) {
    const other = b.arrays.get(array);
    if (other !== undefined && other !== index) return false;
  }
  return true;
}

function isScalar(value: unknown): value is Scalar {
  return (
    value === null ||
    typeof value === "string" ||
    typeof value === "boolean" ||
    (typeof value === "number" && Number.isFinite(value))
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
