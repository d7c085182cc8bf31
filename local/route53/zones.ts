// The emulated Route 53's state: hosted zones, their simple-routing record sets, and changes that are
// PENDING until Route 53 has "propagated" them and INSYNC after. The API (server.ts) sees a change
// at once, as ListResourceRecordSets does in AWS; the DNS servers (local/dns/) answer from the zone
// as of its last INSYNC change, as Route 53's name servers do. A change batch is validated as Route
// 53 validates it — change by change against the zone as the earlier changes left it, every
// problem reported, nothing applied unless all pass — and refused with its codes and messages.
import { randomBytes } from "node:crypto";
import { AwsApiError } from "../aws/api-error";
import { type Clock, realClock } from "../aws/clock";
import {
  compareNames,
  compareRecordSets,
  isRecordType,
  isWithin,
  nameProblem,
  normalizeName,
  type RecordSet,
  type RecordType,
  valueProblem,
} from "./records";

export interface Vpc {
  readonly region: string;
  readonly id: string;
}

export interface HostedZone {
  /** Without the `/hostedzone/` prefix, e.g. `Z0A1B2C3D4E5F6A7B8C9D`. */
  readonly id: string;
  /** Normalized, with the final dot. */
  readonly name: string;
  readonly callerReference: string;
  readonly comment: string | undefined;
  readonly privateZone: boolean;
  readonly vpcs: readonly Vpc[];
  readonly recordSetCount: number;
}

export interface ChangeInfo {
  /** Without the `/change/` prefix. */
  readonly id: string;
  readonly status: "PENDING" | "INSYNC";
  /** Epoch milliseconds. */
  readonly submittedAt: number;
  readonly comment: string | undefined;
}

/** One change of a batch, as the request states it. */
export interface ChangeRequest {
  readonly action: string;
  readonly name: string;
  readonly type: string;
  readonly ttl: number | undefined;
  /** Undefined when the request has no ResourceRecords element. */
  readonly values: readonly string[] | undefined;
  /** A routing feature the request uses that this emulator does not serve (e.g. `AliasTarget`). */
  readonly unsupported: string | undefined;
}

/** A zone as its name servers answer for it. */
export interface ServedZone {
  readonly id: string;
  readonly name: string;
  readonly recordSets: readonly RecordSet[];
}

export interface Page<T> {
  readonly items: readonly T[];
  /** The first item of the next page; undefined on the last page. */
  readonly next: T | undefined;
}

export interface Route53StoreOptions {
  /** How long a change stays PENDING. AWS: usually seconds, at most about a minute. @default 1000 */
  readonly syncDelayMs?: number;
  /** @default real time and timers */
  readonly clock?: Clock;
  /** The region of a VPC given without one. @default "us-east-1" */
  readonly region?: string;
}

/** The name servers Route 53 names in a new zone's NS and SOA records. */
const NAME_SERVERS = [
  "ns-1536.awsdns-00.co.uk.",
  "ns-0.awsdns-00.com.",
  "ns-1024.awsdns-00.org.",
  "ns-512.awsdns-00.net.",
];

interface ZoneState {
  zone: Omit<HostedZone, "recordSetCount">;
  records: Map<string, RecordSet>;
  /** Undefined until the zone's creation is INSYNC. */
  served: readonly RecordSet[] | undefined;
}

interface ChangeState {
  info: ChangeInfo;
  timer: NodeJS.Timeout | undefined;
}

export class Route53Store {
  private readonly zones = new Map<string, ZoneState>();
  private readonly changes = new Map<string, ChangeState>();
  private readonly clock: Clock;
  private readonly syncDelayMs: number;
  private readonly region: string;

  constructor(options: Route53StoreOptions = {}) {
    this.clock = options.clock ?? realClock;
    this.syncDelayMs = options.syncDelayMs ?? 1000;
    this.region = options.region ?? "us-east-1";
  }

  createHostedZone(input: {
    readonly name: string | undefined;
    readonly callerReference: string | undefined;
    readonly vpc: Partial<Vpc> | undefined;
    readonly comment: string | undefined;
    readonly privateZone: boolean | undefined;
    /** The zone's ID when it is already fixed (the simulator's zones from a template); new otherwise. */
    readonly id?: string;
  }): { zone: HostedZone; change: ChangeInfo } {
    if (!input.name) throw invalidInput("Name is required");
    if (!input.callerReference) throw invalidInput("CallerReference is required");
    const name = normalizeName(input.name);
    if (nameProblem(name) !== undefined || name === ".") {
      throw new AwsApiError("InvalidDomainName", `${input.name} is not a valid domain name.`);
    }
    if ([...this.zones.values()].some((z) => z.zone.callerReference === input.callerReference)) {
      throw new AwsApiError(
        "HostedZoneAlreadyExists",
        "A hosted zone has already been created with the specified caller reference.",
        409,
      );
    }
    const privateZone = input.vpc !== undefined || input.privateZone === true;
    if (privateZone && !/^vpc-[0-9a-z]+$/.test(input.vpc?.id ?? "")) {
      throw new AwsApiError("InvalidVPCId", "Invalid or missing VPC Id.");
    }
    if (input.id !== undefined && this.zones.has(input.id)) {
      throw new AwsApiError(
        "HostedZoneAlreadyExists",
        `A hosted zone with ID ${input.id} already exists.`,
        409,
      );
    }
    const id = input.id ?? `Z${newId()}`;
    const records = new Map<string, RecordSet>();
    const apex: RecordSet[] = [
      { name, type: "NS", ttl: 172_800, values: NAME_SERVERS },
      {
        name,
        type: "SOA",
        ttl: 900,
        values: [`${NAME_SERVERS[0]} awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400`],
      },
    ];
    for (const set of apex) records.set(key(set.name, set.type), set);
    const state: ZoneState = {
      zone: {
        id,
        name,
        callerReference: input.callerReference,
        comment: input.comment,
        privateZone,
        vpcs: privateZone ? [{ region: input.vpc?.region || this.region, id: input.vpc?.id as string }] : [],
      },
      records,
      served: undefined,
    };
    this.zones.set(id, state);
    return { zone: this.view(state), change: this.submit(state, undefined) };
  }

  hasHostedZone(id: string): boolean {
    return this.zones.has(id);
  }

  getHostedZone(id: string): HostedZone {
    return this.view(this.zoneState(id));
  }

  /** Zones in Route 53's order (name with labels reversed, then ID), from (dnsName, hostedZoneId). */
  listHostedZonesByName(input: {
    readonly dnsName: string | undefined;
    readonly hostedZoneId: string | undefined;
    readonly maxItems: number;
  }): Page<HostedZone> {
    if (input.hostedZoneId !== undefined && input.dnsName === undefined) {
      throw invalidInput("The input is not valid: HostedZoneId requires DNSName");
    }
    const start = input.dnsName === undefined ? undefined : normalizeName(input.dnsName);
    if (start !== undefined && nameProblem(start) !== undefined) {
      throw new AwsApiError("InvalidDomainName", `${input.dnsName} is not a valid domain name.`);
    }
    const zones = [...this.zones.values()]
      .map((state) => this.view(state))
      .sort((a, b) => compareNames(a.name, b.name) || compare(a.id, b.id))
      .filter((zone) => {
        if (start === undefined) return true;
        const order = compareNames(zone.name, start);
        return order > 0 || (order === 0 && compare(zone.id, input.hostedZoneId ?? "") >= 0);
      });
    return page(zones, input.maxItems);
  }

  /** Applies a batch atomically and returns its change, PENDING. */
  changeResourceRecordSets(
    zoneId: string,
    changes: readonly ChangeRequest[],
    comment: string | undefined,
  ): ChangeInfo {
    const state = this.zoneState(zoneId);
    if (changes.length === 0) {
      throw invalidInput(
        "Invalid XML ; cvc-complex-type.2.4.b: The content of element 'Changes' is not complete. One of '{\"https://route53.amazonaws.com/doc/2013-04-01/\":Change}' is expected.",
      );
    }
    changes.forEach((change, index) => {
      checkShape(change, index);
    });
    const working = new Map(state.records);
    const messages: string[] = [];
    const seen = new Map<string, string[]>();
    for (const change of changes as ReadonlyArray<ChangeRequest & { type: RecordType }>) {
      const set: RecordSet = {
        name: normalizeName(change.name),
        type: change.type,
        ttl: change.ttl ?? 0,
        values: change.values ?? [],
      };
      const k = key(set.name, set.type);
      const earlier = seen.get(k) ?? [];
      seen.set(k, [...earlier, change.action]);
      const problem =
        earlier.length > 0 && !(earlier.length === 1 && earlier[0] === "DELETE" && change.action !== "DELETE")
          ? `The request contains an invalid set of changes for a resource record set '${set.type} ${set.name}'`
          : this.changeProblem(state.zone.name, working, change.action, set);
      if (problem !== undefined) {
        messages.push(problem);
      } else if (change.action === "DELETE") {
        working.delete(k);
      } else {
        working.set(k, set);
      }
    }
    if (messages.length > 0) throw new AwsApiError("InvalidChangeBatch", `[${messages.join(", ")}]`);
    state.records = working;
    return this.submit(state, comment);
  }

  /** Record sets in Route 53's order from (name, type), `maxItems` at most. */
  listResourceRecordSets(
    zoneId: string,
    input: {
      readonly name: string | undefined;
      readonly type: string | undefined;
      readonly identifier: string | undefined;
      readonly maxItems: number;
    },
  ): Page<RecordSet> {
    const state = this.zoneState(zoneId);
    if (input.type !== undefined && input.name === undefined) {
      throw invalidInput("The input is not valid: StartRecordType requires StartRecordName");
    }
    if (input.identifier !== undefined && input.type === undefined) {
      throw invalidInput("The input is not valid: StartRecordIdentifier requires StartRecordType");
    }
    if (input.type !== undefined && !isRecordType(input.type)) throw enumProblem("type", input.type);
    const start = input.name === undefined ? undefined : normalizeName(input.name);
    const sets = [...state.records.values()].sort(compareRecordSets).filter((set) => {
      if (start === undefined) return true;
      const order = compareNames(set.name, start);
      return order > 0 || (order === 0 && compare(set.type, input.type ?? "") >= 0);
    });
    return page(sets, input.maxItems);
  }

  getChange(id: string): ChangeInfo {
    const change = this.changes.get(id);
    if (!change)
      throw new AwsApiError(
        "NoSuchChange",
        `A change with the specified change ID ${id} does not exist.`,
        404,
      );
    return change.info;
  }

  /** Zones as their name servers answer now: each as of its last INSYNC change. */
  servedZones(): ServedZone[] {
    return [...this.zones.values()].flatMap(({ zone, served }) =>
      served === undefined ? [] : [{ id: zone.id, name: zone.name, recordSets: served }],
    );
  }

  /** Cancels pending propagation timers (changes stay PENDING). */
  stop(): void {
    for (const change of this.changes.values()) {
      if (change.timer !== undefined) this.clock.clearTimer(change.timer);
      change.timer = undefined;
    }
  }

  private changeProblem(
    zone: string,
    records: ReadonlyMap<string, RecordSet>,
    action: string,
    set: RecordSet,
  ): string | undefined {
    const named = `[name='${set.name}', type='${set.type}']`;
    const nameIssue = nameProblem(set.name);
    if (nameIssue !== undefined) return nameIssue;
    if (!isWithin(set.name, zone)) return `RRSet with DNS name ${set.name} is not permitted in zone ${zone}`;
    const existing = records.get(key(set.name, set.type));
    if (action === "DELETE") {
      if (set.name === zone && set.type === "SOA") return "A HostedZone must contain exactly one SOA record.";
      if (set.name === zone && set.type === "NS") {
        return "A HostedZone must contain at least one NS record for the zone itself.";
      }
      if (existing === undefined) return `Tried to delete resource record set ${named} but it was not found`;
      return existing.ttl === set.ttl && sameValues(existing.values, set.values)
        ? undefined
        : `Tried to delete resource record set ${named} but the values provided do not match the current values`;
    }
    const valueIssue = set.values.map((value) => valueProblem(set.type, value)).find((p) => p !== undefined);
    if (valueIssue !== undefined) return valueIssue;
    const duplicate = set.values.find((value, index) => set.values.indexOf(value) !== index);
    if (duplicate !== undefined) return `Duplicate Resource Record: '${duplicate}'`;
    if (action === "CREATE" && existing !== undefined) {
      return `Tried to create resource record set ${named} but it already exists`;
    }
    if (set.type === "CNAME") {
      if (set.name === zone)
        return `RRSet of type CNAME with DNS name ${set.name} is not permitted at apex in zone ${zone}`;
      if (set.values.length > 1)
        return `RRSet of type CNAME with DNS name ${set.name} has more than one value`;
    }
    const others = [...records.values()].filter((r) => r.name === set.name && r.type !== set.type);
    if (set.type === "CNAME" && others.length > 0) {
      return `RRSet of type CNAME with DNS name ${set.name} is not permitted as it conflicts with other records with the same DNS name in zone ${zone}`;
    }
    if (others.some((r) => r.type === "CNAME")) {
      return `RRSet of type ${set.type} with DNS name ${set.name} is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone ${zone}`;
    }
    return undefined;
  }

  /** Records a change, PENDING until `syncDelayMs` has passed; then the zone serves this state. */
  private submit(state: ZoneState, comment: string | undefined): ChangeInfo {
    const id = `C${newId()}`;
    const snapshot = [...state.records.values()];
    const change: ChangeState = {
      info: { id, status: "PENDING", submittedAt: this.clock.now(), comment },
      timer: undefined,
    };
    change.timer = this.clock.setTimer(() => {
      change.timer = undefined;
      change.info = { ...change.info, status: "INSYNC" };
      state.served = snapshot;
    }, this.syncDelayMs);
    this.changes.set(id, change);
    return change.info;
  }

  private zoneState(id: string): ZoneState {
    const state = this.zones.get(id);
    if (!state) throw new AwsApiError("NoSuchHostedZone", `No hosted zone found with ID: ${id}`, 404);
    return state;
  }

  private view(state: ZoneState): HostedZone {
    return { ...state.zone, recordSetCount: state.records.size };
  }
}

/** The schema checks Route 53 makes before it looks at the zone (InvalidInput). */
function checkShape(change: ChangeRequest, index: number): void {
  if (!["CREATE", "DELETE", "UPSERT"].includes(change.action)) throw enumProblem("action", change.action);
  if (!isRecordType(change.type)) throw enumProblem("type", change.type);
  if (change.unsupported !== undefined) {
    throw invalidInput(
      `${change.unsupported} in change ${index + 1}: the simulator's Route 53 serves simple routing record sets (TTL and ResourceRecords) only`,
    );
  }
  if (change.ttl === undefined || change.values === undefined) {
    throw invalidInput(
      `Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Action=${change.action}, Name=${change.name}, Type=${change.type}, SetIdentifier=null]`,
    );
  }
  if (change.values.length === 0) {
    throw invalidInput(
      "Invalid XML ; cvc-complex-type.2.4.b: The content of element 'ResourceRecords' is not complete. One of '{\"https://route53.amazonaws.com/doc/2013-04-01/\":ResourceRecord}' is expected.",
    );
  }
  if (!Number.isInteger(change.ttl) || change.ttl < 0 || change.ttl > 2_147_483_647) {
    throw invalidInput(
      `1 validation error detected: Value '${change.ttl}' at 'changeBatch.changes.${index + 1}.member.resourceRecordSet.tTL' failed to satisfy constraint: Member must have value between 0 and 2147483647`,
    );
  }
}

function enumProblem(field: "action" | "type", value: string): AwsApiError {
  const allowed = field === "action" ? "[CREATE, DELETE, UPSERT]" : "the record types Route 53 knows";
  return invalidInput(
    `Invalid XML ; cvc-enumeration-valid: Value '${value}' is not facet-valid with respect to enumeration '${allowed}'. It must be a value from the enumeration.`,
  );
}

function invalidInput(message: string): AwsApiError {
  return new AwsApiError("InvalidInput", message);
}

function page<T>(items: readonly T[], maxItems: number): Page<T> {
  return { items: items.slice(0, maxItems), next: items[maxItems] };
}

function key(name: string, type: string): string {
  return `${name} ${type}`;
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().every((value, index) => value === [...b].sort()[index]);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** 20 characters of Route 53's ID alphabet (digits and capitals). */
function newId(): string {
  return randomBytes(10).toString("hex").toUpperCase();
}
