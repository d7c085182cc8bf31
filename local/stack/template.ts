// A synthesized CloudFormation template as the simulator reads it: the few top-level sections it
// uses, typed loosely (property values stay `unknown` until the resolver turns them into plain
// values), and a loader that fails naming the file and what is wrong with it.
import { readFileSync } from "node:fs";

export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | readonly string[];
}

export interface TemplateParameter {
  readonly Type: string;
  readonly Default?: unknown;
}

export interface Template {
  readonly Resources: Readonly<Record<string, TemplateResource>>;
  readonly Parameters?: Readonly<Record<string, TemplateParameter>>;
  readonly Mappings?: Readonly<Record<string, Record<string, Record<string, unknown>>>>;
  readonly Outputs?: Readonly<Record<string, { readonly Value: unknown; readonly Description?: string }>>;
}

export class TemplateError extends Error {
  override readonly name = "TemplateError";
}

export function loadTemplate(path: string): Template {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new TemplateError(`cannot read the template ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (typeof parsed !== "object" || parsed === null || !("Resources" in parsed)) {
    throw new TemplateError(`${path} is not a CloudFormation template: it has no Resources section`);
  }
  const resources = (parsed as { Resources: unknown }).Resources;
  if (typeof resources !== "object" || resources === null) {
    throw new TemplateError(`${path}: Resources must be an object`);
  }
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (typeof (resource as { Type?: unknown } | null)?.Type !== "string") {
      throw new TemplateError(`${path}: resource ${logicalId} has no Type`);
    }
  }
  return parsed as Template;
}

/** The logical IDs of the resources of `type`, in template order. */
export function resourcesOfType(template: Template, type: string): string[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([logicalId]) => logicalId);
}

/** The one resource of `type`; fails naming the type when there is none or more than one. */
export function singleResourceOfType(template: Template, type: string): string {
  const ids = resourcesOfType(template, type);
  if (ids.length !== 1) {
    throw new TemplateError(
      `the simulator runs a stack with exactly one ${type}; this template has ${ids.length}${ids.length > 0 ? ` (${ids.join(", ")})` : ""}`,
    );
  }
  return ids[0] as string;
}
