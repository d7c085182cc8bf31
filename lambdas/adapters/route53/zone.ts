// The cluster's Route 53 hosted zone as the control plane sees it: the simple record sets at and
// under the cluster's name, and change batches (atomic in Route 53: all applied or none) with their
// propagation status. The SDK client is built once per container by the caller and passed in.
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  type ListResourceRecordSetsCommandOutput,
  type ResourceRecordSet,
  type Route53Client,
  type RRType,
} from "@aws-sdk/client-route-53";
import { fqdn, type RecordChange, type RecordSet } from "../../domain/client-endpoint";
import { translateRoute53Error } from "./translate";

/** A change batch Route 53 accepted. */
export interface SubmittedChange {
  /** Without the `/change/` prefix. */
  readonly id: string;
  /** PENDING until Route 53's name servers answer with it. */
  readonly status: "PENDING" | "INSYNC";
}

/** Route 53's page size limit for ListResourceRecordSets. */
const PAGE_SIZE = 300;

export class HostedZoneAdapter {
  constructor(
    private readonly client: Route53Client,
    /** With or without the `/hostedzone/` prefix. */
    readonly hostedZoneId: string,
  ) {}

  /**
   * The simple-routing record sets at `name` and under it (alias and routing-policy sets are not
   * the control plane's and are left out). Reads from `name` on in Route 53's order (labels
   * reversed) and stops at the first name that cannot be under it: those names come together in
   * that order, whether Route 53 compares the reversed names label by label or as strings.
   */
  async recordSets(name: string): Promise<RecordSet[]> {
    const base = fqdn(name);
    const prefix = reversed(base);
    const sets: RecordSet[] = [];
    let start: { name: string; type: RRType | undefined } | undefined = { name: base, type: undefined };
    while (start !== undefined) {
      const page: ListResourceRecordSetsCommandOutput = await this.client
        .send(
          new ListResourceRecordSetsCommand({
            HostedZoneId: this.hostedZoneId,
            StartRecordName: start.name,
            StartRecordType: start.type,
            MaxItems: PAGE_SIZE,
          }),
        )
        .catch((error: unknown) => {
          throw translateRoute53Error(error, "ListResourceRecordSets", this.hostedZoneId);
        });
      for (const set of page.ResourceRecordSets ?? []) {
        const key = reversed(fqdn(set.Name ?? ""));
        if (key !== prefix && !key.startsWith(prefix)) return sets;
        const simple = toRecordSet(set);
        if (simple !== undefined && (key === prefix || key.startsWith(`${prefix}.`))) sets.push(simple);
      }
      start =
        page.IsTruncated && page.NextRecordName !== undefined
          ? { name: page.NextRecordName, type: page.NextRecordType }
          : undefined;
    }
    return sets;
  }

  /** Submits the changes as one batch; throws InvalidChangeBatchError when Route 53 refuses it. */
  async apply(changes: readonly RecordChange[], comment?: string): Promise<SubmittedChange> {
    const answer = await this.client
      .send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: this.hostedZoneId,
          ChangeBatch: {
            Comment: comment,
            Changes: changes.map((change) => ({
              Action: change.action,
              ResourceRecordSet: {
                Name: change.recordSet.name,
                Type: change.recordSet.type as RRType,
                TTL: change.recordSet.ttl,
                ResourceRecords: change.recordSet.values.map((value) => ({ Value: value })),
              },
            })),
          },
        }),
      )
      .catch((error: unknown) => {
        throw translateRoute53Error(error, "ChangeResourceRecordSets", this.hostedZoneId);
      });
    return toSubmitted(answer.ChangeInfo);
  }

  /** Whether Route 53's name servers answer with the change yet. */
  async change(changeId: string): Promise<SubmittedChange> {
    const answer = await this.client.send(new GetChangeCommand({ Id: changeId })).catch((error: unknown) => {
      throw translateRoute53Error(error, "GetChange", this.hostedZoneId);
    });
    return toSubmitted(answer.ChangeInfo);
  }
}

function toRecordSet(set: ResourceRecordSet): RecordSet | undefined {
  if (set.AliasTarget !== undefined || set.SetIdentifier !== undefined || set.TTL === undefined)
    return undefined;
  return {
    name: set.Name ?? "",
    type: set.Type ?? "",
    ttl: set.TTL,
    values: (set.ResourceRecords ?? []).map((record) => record.Value ?? ""),
  };
}

function toSubmitted(info: { Id?: string; Status?: string } | undefined): SubmittedChange {
  return {
    id: (info?.Id ?? "").replace(/^\/change\//, ""),
    status: info?.Status === "INSYNC" ? "INSYNC" : "PENDING",
  };
}

/** `etcd.example.internal.` → `internal.example.etcd` */
function reversed(name: string): string {
  return name
    .split(".")
    .filter((label) => label !== "")
    .reverse()
    .join(".");
}
