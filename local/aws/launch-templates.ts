// EC2 launch templates as the Auto Scaling emulator needs them: numbered, immutable versions of each
// template with their LaunchTemplateData; the new version a stack update makes when the data changes
// (CloudFormation's update of an AWS::EC2::LaunchTemplate, whose LatestVersionNumber the group then
// names); and how Auto Scaling resolves a LaunchTemplateSpecification — by ID or name, a number,
// "$Latest" or "$Default" — answering AWS's ValidationError when it names nothing.
import { AwsApiError } from "./api-error";
import type { LaunchTemplateInput, LaunchTemplateSpecification, LaunchTemplateVersion } from "./types";

/** How a request names a version: ID or name, and a version (the default version when left out). */
export interface LaunchTemplateReference {
  readonly id?: string | undefined;
  readonly name?: string | undefined;
  readonly version?: string | undefined;
}

/** A version recorded again with other data: versions never change once made. */
export class LaunchTemplateVersionConflictError extends Error {
  override readonly name = "LaunchTemplateVersionConflictError";
}

interface Template {
  readonly id: string;
  readonly name: string;
  readonly versions: Map<number, Readonly<Record<string, unknown>>>;
}

/** The account's launch templates (EC2 keeps them apart from any group). */
export class LaunchTemplates {
  private readonly byId = new Map<string, Template>();

  /** Records `input.version` with its data (CreateLaunchTemplate/CreateLaunchTemplateVersion given a
   * number): the same data again is a no-op, other data is refused. */
  put(
    input: LaunchTemplateInput & { readonly data: Readonly<Record<string, unknown>> },
  ): LaunchTemplateVersion {
    const number = versionNumber(input.version);
    if (number === undefined) {
      throw new LaunchTemplateVersionConflictError(
        `launch template ${input.id}: a recorded version is a number, got ${JSON.stringify(input.version)}`,
      );
    }
    const template = this.template(input.id, input.name);
    const existing = template.versions.get(number);
    if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(input.data)) {
      throw new LaunchTemplateVersionConflictError(
        `launch template ${input.id} version ${number} exists with other data; a change makes a new version`,
      );
    }
    template.versions.set(number, input.data);
    return { id: template.id, name: template.name, version: String(number), data: input.data };
  }

  /**
   * What a stack update does with the template's LaunchTemplateData: the latest version when the data
   * is the same, else a new version numbered one past the latest (LatestVersionNumber).
   */
  update(input: {
    readonly id: string;
    readonly name?: string;
    readonly data: Readonly<Record<string, unknown>>;
  }): LaunchTemplateVersion {
    const template = this.template(input.id, input.name);
    const latest = highest(template);
    const latestData = latest === undefined ? undefined : template.versions.get(latest);
    if (latest !== undefined && JSON.stringify(latestData) === JSON.stringify(input.data)) {
      return { id: template.id, name: template.name, version: String(latest), data: input.data };
    }
    return this.put({ id: template.id, version: String((latest ?? 0) + 1), data: input.data });
  }

  /** The numbered version a reference names, as Auto Scaling resolves it at launch. */
  resolve(reference: LaunchTemplateReference): LaunchTemplateVersion {
    const template = this.find(reference);
    const requested = reference.version ?? "$Default";
    const number =
      requested === "$Latest"
        ? highest(template)
        : requested === "$Default"
          ? // EC2's default version is the first unless ModifyLaunchTemplate moves it, which the
            // emulator does not offer.
            lowest(template)
          : versionNumber(requested);
    const data = number === undefined ? undefined : template.versions.get(number);
    if (number === undefined || data === undefined) {
      throw new AwsApiError(
        "ValidationError",
        `You must use a valid fully-formed launch template. The specified launch template version ${requested} of ${template.id} does not exist.`,
      );
    }
    return { id: template.id, name: template.name, version: String(number), data };
  }

  /** A request's reference (exactly one of ID and name, as AWS requires) as a group records it: the
   * ID and name filled in, the version as given. */
  specification(reference: LaunchTemplateReference): LaunchTemplateSpecification {
    if ((reference.id === undefined) === (reference.name === undefined)) {
      throw new AwsApiError(
        "ValidationError",
        "Valid requests must contain either launchTemplateId or launchTemplateName, but not both",
      );
    }
    const resolved = this.resolve(reference);
    return { id: resolved.id, name: resolved.name, version: reference.version ?? "$Default" };
  }

  /** By ID when there is one (a recorded specification has both), else by name. */
  private find(reference: LaunchTemplateReference): Template {
    const { id, name } = reference;
    const template =
      id !== undefined ? this.byId.get(id) : [...this.byId.values()].find((t) => t.name === name);
    if (template === undefined) {
      throw new AwsApiError(
        "ValidationError",
        id !== undefined
          ? `You must use a valid fully-formed launch template. The specified launch template, with template ID ${id}, does not exist.`
          : `You must use a valid fully-formed launch template. The specified launch template, with template name ${name}, does not exist.`,
      );
    }
    return template;
  }

  private template(id: string, name: string | undefined): Template {
    const known = this.byId.get(id);
    if (known !== undefined) {
      if (name !== undefined && name !== known.name) {
        throw new LaunchTemplateVersionConflictError(
          `launch template ${id} is named ${known.name}, not ${name}: a name change replaces the template`,
        );
      }
      return known;
    }
    // CloudFormation names a template it was given no name for; the ID serves here.
    const created: Template = { id, name: name ?? id, versions: new Map() };
    this.byId.set(id, created);
    return created;
  }
}

/** A version number ("3"), or undefined for "$Latest", "$Default" and anything else. */
export function versionNumber(version: string): number | undefined {
  return /^[1-9]\d{0,8}$/.test(version) ? Number(version) : undefined;
}

function highest(template: Template): number | undefined {
  const numbers = [...template.versions.keys()];
  return numbers.length === 0 ? undefined : Math.max(...numbers);
}

function lowest(template: Template): number | undefined {
  const numbers = [...template.versions.keys()];
  return numbers.length === 0 ? undefined : Math.min(...numbers);
}
