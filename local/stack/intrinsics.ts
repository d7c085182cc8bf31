// Resolves the CloudFormation intrinsic functions a synthesized template uses — Ref, Fn::GetAtt,
// Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::Base64, Fn::FindInMap, Fn::GetAZs and the pseudo
// parameters — into plain values, the way CloudFormation does at deploy. What it cannot resolve
// (a condition, an import, an attribute it does not know) fails naming the resource whose property
// holds it and the intrinsic, so a template the simulator cannot run says why at start.

export class IntrinsicError extends Error {
  override readonly name = "IntrinsicError";
}

export interface PseudoParameters {
  readonly accountId: string;
  readonly region: string;
  readonly partition: string;
  readonly stackName: string;
  readonly stackId: string;
  readonly urlSuffix: string;
  readonly availabilityZones: readonly string[];
}

/** What Ref and Fn::GetAtt of a logical ID return; each throws IntrinsicError when it cannot say. */
export interface ResolveContext {
  readonly pseudo: PseudoParameters;
  readonly mappings: Readonly<Record<string, Record<string, Record<string, unknown>>>>;
  ref(logicalId: string): string;
  getAtt(logicalId: string, attribute: string): unknown;
}

/** AWS::NoValue: the property is left out, as CloudFormation leaves it out. */
const NO_VALUE = Symbol("AWS::NoValue");

/**
 * `value` with every intrinsic replaced by what it resolves to. `where` names what is being resolved
 * (e.g. `ClusterNodeApi3F6F83B2.Properties.Environment`) for the error message.
 */
export function resolve(value: unknown, context: ResolveContext, where: string): unknown {
  const resolved = resolveAny(value, context, where);
  return resolved === NO_VALUE ? undefined : resolved;
}

/** resolve(), and the result must be a string. */
export function resolveString(value: unknown, context: ResolveContext, where: string): string {
  const resolved = resolve(value, context, where);
  if (typeof resolved !== "string" && typeof resolved !== "number" && typeof resolved !== "boolean") {
    throw new IntrinsicError(`${where}: expected a string, got ${JSON.stringify(resolved)?.slice(0, 200)}`);
  }
  return String(resolved);
}

function resolveAny(value: unknown, context: ResolveContext, where: string): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => resolveAny(item, context, where)).filter((item) => item !== NO_VALUE);
  }
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value);
  const [first] = entries;
  if (entries.length === 1 && first !== undefined && isIntrinsic(first[0])) {
    return intrinsic(first[0], first[1], context, where);
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of entries) {
    const resolved = resolveAny(item, context, where);
    if (resolved !== NO_VALUE) out[key] = resolved;
  }
  return out;
}

function isIntrinsic(key: string): boolean {
  return key === "Ref" || key === "Condition" || key.startsWith("Fn::");
}

function intrinsic(name: string, argument: unknown, context: ResolveContext, where: string): unknown {
  const fail = (why: string): never => {
    throw new IntrinsicError(
      `${where}: cannot resolve ${name} ${JSON.stringify(argument)?.slice(0, 200)}: ${why}`,
    );
  };
  const arg = (value: unknown) => resolveAny(value, context, where);
  switch (name) {
    case "Ref": {
      if (typeof argument !== "string") return fail("Ref takes a logical ID or pseudo parameter name");
      if (argument === "AWS::NoValue") return NO_VALUE;
      return pseudoParameter(argument, context.pseudo) ?? context.ref(argument);
    }
    case "Fn::GetAtt": {
      const [logicalId, attribute] =
        typeof argument === "string" ? splitOnce(argument, ".") : (arg(argument) as unknown[]);
      if (typeof logicalId !== "string" || typeof attribute !== "string") {
        return fail("Fn::GetAtt takes [logicalId, attribute]");
      }
      return context.getAtt(logicalId, attribute);
    }
    case "Fn::Join": {
      const [separator, items] = asArray(arg(argument), 2, fail);
      if (typeof separator !== "string" || !Array.isArray(items))
        return fail("Fn::Join takes [separator, list]");
      return items.map((item) => scalar(item, fail)).join(separator);
    }
    case "Fn::Sub":
      return substitute(argument, context, where, fail);
    case "Fn::Select": {
      const [index, items] = asArray(arg(argument), 2, fail);
      const i = Number(index);
      if (!Array.isArray(items) || !Number.isInteger(i) || i < 0 || i >= items.length) {
        return fail(`index ${String(index)} is not inside the list`);
      }
      return items[i];
    }
    case "Fn::Split": {
      const [separator, text] = asArray(arg(argument), 2, fail);
      if (typeof separator !== "string" || typeof text !== "string")
        return fail("Fn::Split takes [separator, string]");
      return text.split(separator);
    }
    case "Fn::Base64":
      return Buffer.from(scalar(arg(argument), fail), "utf8").toString("base64");
    case "Fn::FindInMap": {
      const [map, top, second] = asArray(arg(argument), 3, fail).map((part) => scalar(part, fail));
      const found = context.mappings[map as string]?.[top as string]?.[second as string];
      return found === undefined ? fail(`no ${map}.${top}.${second} in Mappings`) : found;
    }
    case "Fn::GetAZs":
      return [...context.pseudo.availabilityZones];
    default:
      return fail("the simulator does not resolve this intrinsic (conditions and imports are not supported)");
  }
}

function pseudoParameter(name: string, pseudo: PseudoParameters): string | undefined {
  switch (name) {
    case "AWS::AccountId":
      return pseudo.accountId;
    case "AWS::Region":
      return pseudo.region;
    case "AWS::Partition":
      return pseudo.partition;
    case "AWS::StackName":
      return pseudo.stackName;
    case "AWS::StackId":
      return pseudo.stackId;
    case "AWS::URLSuffix":
      return pseudo.urlSuffix;
    default:
      return undefined;
  }
}

/** Fn::Sub: `${Name}`, `${Logical.Attribute}`, `${AWS::Pseudo}`, `${!Literal}`, and the [string, vars] form. */
function substitute(
  argument: unknown,
  context: ResolveContext,
  where: string,
  fail: (why: string) => never,
): string {
  let text: unknown = argument;
  let variables: Record<string, unknown> = {};
  if (Array.isArray(argument)) {
    [text] = argument;
    const given = resolveAny(argument[1], context, where);
    if (typeof given !== "object" || given === null) return fail("Fn::Sub's second element must be a map");
    variables = given as Record<string, unknown>;
  }
  if (typeof text !== "string") return fail("Fn::Sub takes a string or [string, variables]");
  return text.replace(/\$\{([^}]*)\}/g, (whole, name: string) => {
    if (name.startsWith("!")) return `\${${name.slice(1)}}`;
    if (name in variables) return scalar(variables[name], fail);
    const pseudo = pseudoParameter(name, context.pseudo);
    if (pseudo !== undefined) return pseudo;
    if (name.includes(".")) {
      const [logicalId, attribute] = splitOnce(name, ".");
      return scalar(context.getAtt(logicalId, attribute), fail);
    }
    if (name === "") return fail(`empty variable in ${whole}`);
    return context.ref(name);
  });
}

function asArray(value: unknown, length: number, fail: (why: string) => never): unknown[] {
  if (!Array.isArray(value) || value.length !== length) return fail(`expected a list of ${length}`);
  return value;
}

function scalar(value: unknown, fail: (why: string) => never): string {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
    return String(value);
  return fail(`${JSON.stringify(value)?.slice(0, 100)} is not a string`);
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 1)];
}
