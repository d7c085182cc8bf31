// The EC2 Query API (Version 2016-11-15) for the one call the control plane makes:
// DescribeInstances, by instance ID or `instance-id` / `private-ip-address` / `instance-state-name` /
// `tag:aws:autoscaling:groupName` filters. Terminated instances stay visible (without a private IP),
// as in EC2. EC2 has no LaunchTemplate field on an instance: like EC2, it tags one launched from a
// launch template with aws:ec2launchtemplate:id and aws:ec2launchtemplate:version, and Auto Scaling
// adds aws:autoscaling:groupName.
import { AwsApiError } from "./api-error";
import { indexedValues, type QueryParams } from "./query-params";
import type { EmulatedInstance } from "./types";
import { isoTime, leaf, list, node } from "./xml";

export const EC2_VERSION = "2016-11-15";
export const EC2_NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/";

export interface Ec2Backend {
  /** Every instance ever launched, terminated ones included. */
  instances(): readonly EmulatedInstance[];
  now(): number;
  account: string;
}

type InstanceStateName = "pending" | "running" | "terminated";
const STATE_CODES: Record<InstanceStateName, number> = { pending: 0, running: 16, terminated: 48 };

type Handler = (params: QueryParams, backend: Ec2Backend) => string;

/** The answer body (inside `<ActionResponse>`) for each supported action. */
export const EC2_ACTIONS: Readonly<Record<string, Handler>> = {
  DescribeInstances(params, backend) {
    const now = backend.now();
    const ids = indexedValues(params, "InstanceId");
    for (const id of ids) {
      if (!/^i-[0-9a-f]{8}([0-9a-f]{9})?$/.test(id)) {
        throw new AwsApiError("InvalidInstanceID.Malformed", `Invalid id: "${id}"`);
      }
    }
    const all = backend.instances();
    const missing = ids.filter((id) => !all.some((instance) => instance.id === id));
    if (missing.length === 1) {
      throw new AwsApiError("InvalidInstanceID.NotFound", `The instance ID '${missing[0]}' does not exist`);
    }
    if (missing.length > 1) {
      throw new AwsApiError(
        "InvalidInstanceID.NotFound",
        `The instance IDs '${missing.join(", ")}' do not exist`,
      );
    }
    const filters = readFilters(params);
    const matching = all.filter(
      (instance) =>
        (ids.length === 0 || ids.includes(instance.id)) &&
        filters.every(({ name, values }) => values.includes(filterValue(instance, name, now) ?? "")),
    );
    return list(
      "reservationSet",
      "item",
      matching.map((instance) =>
        [
          leaf("reservationId", `r-${instance.id.slice(2)}`),
          leaf("ownerId", backend.account),
          list("groupSet", "item", []),
          list("instancesSet", "item", [renderInstance(instance, now)]),
        ].join(""),
      ),
    );
  },
};

interface Filter {
  readonly name: string;
  readonly values: readonly string[];
}

const FILTER_NAMES = [
  "instance-id",
  "private-ip-address",
  "instance-state-name",
  "tag:aws:autoscaling:groupName",
];

function readFilters(params: QueryParams): Filter[] {
  const filters: Filter[] = [];
  for (let index = 1; params.has(`Filter.${index}.Name`); index++) {
    const name = params.get(`Filter.${index}.Name`) ?? "";
    if (!FILTER_NAMES.includes(name)) {
      throw new AwsApiError("InvalidParameterValue", `The filter '${name}' is invalid`);
    }
    filters.push({ name, values: indexedValues(params, `Filter.${index}.Value`) });
  }
  return filters;
}

function filterValue(instance: EmulatedInstance, name: string, now: number): string | undefined {
  if (name === "instance-id") return instance.id;
  if (name === "private-ip-address") return visiblePrivateIp(instance, now);
  if (name === "tag:aws:autoscaling:groupName") return instance.groupName;
  return stateName(instance, now);
}

function stateName(instance: EmulatedInstance, now: number): InstanceStateName {
  if (instance.lifecycleState === "Terminated") return "terminated";
  return now >= instance.privateIpVisibleAt ? "running" : "pending";
}

function visiblePrivateIp(instance: EmulatedInstance, now: number): string | undefined {
  return stateName(instance, now) === "running" ? instance.privateIp : undefined;
}

function renderInstance(instance: EmulatedInstance, now: number): string {
  const state = stateName(instance, now);
  const privateIp = visiblePrivateIp(instance, now);
  return [
    leaf("instanceId", instance.id),
    leaf("imageId", instance.imageId),
    node("instanceState", leaf("code", STATE_CODES[state]), leaf("name", state)),
    leaf("privateDnsName", privateIp === undefined ? "" : `ip-${privateIp.replace(/\./g, "-")}.ec2.internal`),
    leaf("dnsName", ""),
    leaf("amiLaunchIndex", 0),
    leaf("instanceType", instance.instanceType),
    leaf("launchTime", isoTime(instance.launchTime)),
    node("placement", leaf("availabilityZone", instance.availabilityZone), leaf("tenancy", "default")),
    leaf("privateIpAddress", privateIp),
    leaf("architecture", "x86_64"),
    leaf("rootDeviceType", "ebs"),
    list("tagSet", "item", systemTags(instance)),
  ].join("");
}

function systemTags(instance: EmulatedInstance): string[] {
  const template = instance.launchTemplate;
  const tags: [string, string][] = [
    ...(template === undefined
      ? []
      : ([
          ["aws:ec2launchtemplate:id", template.id],
          ["aws:ec2launchtemplate:version", template.version],
        ] as [string, string][])),
    ["aws:autoscaling:groupName", instance.groupName],
  ];
  return tags.map(([key, value]) => [leaf("key", key), leaf("value", value)].join(""));
}
