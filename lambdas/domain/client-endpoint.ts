// The cluster's stable client name in its Route 53 private zone: which record sets it should have
// for the etcd members of a snapshot, and the change batch that brings the zone there.
//
// For a cluster name N (e.g. `etcd.cluster.internal`) the control plane owns:
// - `N` A: the client IP of every started voter — what a client resolves and connects to;
// - `<instance-id>.N` A, one per started voter: the SRV targets below (SRV targets must be host
//   names, not IPs; the member's name is its instance ID, so a target names its member and never
//   changes while the member lives, whereas an IP can be reused by a later instance);
// - `_etcd-client-ssl._tcp.N` and `_etcd-server-ssl._tcp.N` SRV: etcd's DNS discovery records
//   (`etcdctl --discovery-srv N`), `0 0 <port> <instance-id>.N.` per voter, with the ports of the
//   member's client and peer URLs. A client that verifies TLS against a target connects to
//   `<instance-id>.N`, so a server certificate should carry that name as well as N.
// Other records under N (an operator's TXT, another `foo.N`) are never touched.
//
// Learners and members that have not started are not in the records: a client must not be sent to
// a member that cannot serve reads yet. An unhealthy started voter stays until it is removed: health
// flaps faster than DNS caches expire, and its removal (or replacement) takes it out.
// With no started voter at all the zone keeps its last records: Route 53 refuses an empty record
// set, deleting the name would have resolvers cache NXDOMAIN for the SOA's negative TTL well past
// the cluster's return, and "no voter" is what an unreachable etcd looks like to the control plane —
// the last known IPs are the best a client can try while that lasts.
import type { Member } from "./snapshot";
import { hostOf } from "./urls";
import { isManagedName } from "./view";

/** A simple-routing record set as the zone holds it. */
export interface RecordSet {
  /** Fully qualified; compared without case and without regard to the final dot. */
  readonly name: string;
  readonly type: string;
  readonly ttl: number;
  readonly values: readonly string[];
}

export interface RecordChange {
  readonly action: "UPSERT" | "DELETE";
  /** For a DELETE, the set exactly as the zone holds it (Route 53 deletes only an exact match). */
  readonly recordSet: RecordSet;
}

/** A started voter as the records show it. */
export interface EndpointVoter {
  readonly instanceId: string;
  readonly clientIp: string;
  readonly clientPort: number;
  readonly peerPort: number;
}

export interface ClientEndpointInput {
  /** The cluster's DNS name, with or without the final dot. */
  readonly name: string;
  /** TTL of every record set the control plane writes, in seconds. */
  readonly ttl: number;
  readonly members: readonly Member[];
  /** The zone's record sets at and under `name` (others are ignored). */
  readonly current: readonly RecordSet[];
}

export type ClientEndpointDecision =
  /** The zone already says what the members say. */
  | { readonly kind: "in-step"; readonly voters: readonly EndpointVoter[] }
  /** No started voter with a client IP: keep the last records (see the file's header). */
  | { readonly kind: "keep"; readonly reason: string }
  /** Apply these changes, in one batch. */
  | {
      readonly kind: "change";
      readonly changes: readonly RecordChange[];
      readonly voters: readonly EndpointVoter[];
      readonly reason: string;
    };

export const CLIENT_SRV_PREFIX = "_etcd-client-ssl._tcp.";
export const SERVER_SRV_PREFIX = "_etcd-server-ssl._tcp.";

const DEFAULT_CLIENT_PORT = 2379;
const DEFAULT_PEER_PORT = 2380;

export function decideClientEndpoint(input: ClientEndpointInput): ClientEndpointDecision {
  const name = fqdn(input.name);
  const voters = endpointVoters(input.members);
  if (voters.length === 0) {
    return { kind: "keep", reason: `no started voter has a client IP: ${name} keeps its last records` };
  }
  const desired = clientEndpointRecords(name, input.ttl, voters);
  const current = input.current.filter((set) => isOwned(set, name));
  const changes: RecordChange[] = [];
  for (const set of desired) {
    const now = current.find((c) => sameSet(c, set));
    if (now === undefined || now.ttl !== set.ttl || !sameValues(now.values, set.values, set.type)) {
      changes.push({ action: "UPSERT", recordSet: set });
    }
  }
  for (const set of current) {
    if (!desired.some((d) => sameSet(d, set))) changes.push({ action: "DELETE", recordSet: set });
  }
  if (changes.length === 0) return { kind: "in-step", voters };
  return {
    kind: "change",
    changes,
    voters,
    reason: `${name} follows the started voters ${voters.map((v) => v.instanceId).join(", ")}`,
  };
}

/** The started voters, by instance ID, with the IP and ports the records give them. A voter whose
 * name is not an instance ID or whose client URL has no IPv4 address is left out. */
export function endpointVoters(members: readonly Member[]): EndpointVoter[] {
  return members
    .filter((member) => member.started && !member.isLearner && isManagedName(member.name))
    .flatMap((member) => {
      const client = member.clientUrls.map(parseUrl).find((url) => url !== undefined && isIpv4(url.host));
      if (client === undefined) return [];
      const peer = member.peerUrls.map(parseUrl).find((url) => url !== undefined);
      return [
        {
          instanceId: member.name,
          clientIp: client.host,
          clientPort: client.port ?? DEFAULT_CLIENT_PORT,
          peerPort: peer?.port ?? DEFAULT_PEER_PORT,
        },
      ];
    })
    .sort((a, b) => compare(a.instanceId, b.instanceId));
}

/** Every record set the control plane wants under `name` for these voters (at least one voter). */
export function clientEndpointRecords(
  name: string,
  ttl: number,
  voters: readonly EndpointVoter[],
): RecordSet[] {
  const base = fqdn(name);
  const target = (voter: EndpointVoter) => `${voter.instanceId}.${base}`;
  return [
    { name: base, type: "A", ttl, values: unique(voters.map((v) => v.clientIp)) },
    ...voters.map((v) => ({ name: target(v), type: "A", ttl, values: [v.clientIp] })),
    {
      name: `${CLIENT_SRV_PREFIX}${base}`,
      type: "SRV",
      ttl,
      values: voters.map((v) => `0 0 ${v.clientPort} ${target(v)}`),
    },
    {
      name: `${SERVER_SRV_PREFIX}${base}`,
      type: "SRV",
      ttl,
      values: voters.map((v) => `0 0 ${v.peerPort} ${target(v)}`),
    },
  ];
}

/** `Etcd.Example.internal` → `etcd.example.internal.` */
export function fqdn(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower : `${lower}.`;
}

/** A record set the control plane manages under `name`: the name's A, the two SRV sets, and the
 * per-voter A records (`<instance-id>.name`). */
function isOwned(set: RecordSet, name: string): boolean {
  const setName = fqdn(set.name);
  if (set.type === "A" && setName === name) return true;
  if (set.type === "SRV")
    return setName === `${CLIENT_SRV_PREFIX}${name}` || setName === `${SERVER_SRV_PREFIX}${name}`;
  if (set.type !== "A" || !setName.endsWith(`.${name}`)) return false;
  const label = setName.slice(0, -name.length - 1);
  return isManagedName(label);
}

function sameSet(a: RecordSet, b: RecordSet): boolean {
  return a.type === b.type && fqdn(a.name) === fqdn(b.name);
}

/** Equal as sets; SRV targets compared without case or final dot. */
function sameValues(a: readonly string[], b: readonly string[], type: string): boolean {
  const canonical = (values: readonly string[]) =>
    unique(
      values.map((value) => {
        if (type !== "SRV") return value.trim();
        const fields = value.trim().split(/\s+/);
        return [...fields.slice(0, 3), fqdn(fields[3] ?? "")].join(" ");
      }),
    );
  const x = canonical(a);
  const y = canonical(b);
  return x.length === y.length && x.every((value, index) => value === y[index]);
}

function parseUrl(url: string): { host: string; port: number | undefined } | undefined {
  const host = hostOf(url);
  if (host === undefined) return undefined;
  const port = /:(\d+)(?:\/|$)/.exec(url.slice(url.indexOf(host) + host.length))?.[1];
  return { host, port: port === undefined ? undefined : Number(port) };
}

function isIpv4(host: string): boolean {
  return (
    /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(host) &&
    host.split(".").every((part) => Number(part) <= 255)
  );
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)].sort(compare);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
