// The etcd adapter: reads etcd's member list and each member's health, and makes the membership
// changes the engine decides (add as learner, promote, remove), idempotently. A change whose outcome is
// unknown is settled by re-reading the member list; it is made again only when that list shows it was
// not made, and only at a leader found afresh.
import type { IMember } from "etcd3";
import type { StatusReport } from "../../domain/member-health";
import type { Member } from "../../domain/snapshot";
import { type EndpointStatus, EtcdEndpoint, type TlsIdentitySource } from "./endpoint";
import type { EtcdEndpointPool } from "./endpoint-pool";
import {
  type EtcdAdapterError,
  EtcdUnavailableError,
  InvalidEtcdInputError,
  MemberAlreadyExistsError,
  MemberNotFoundError,
  MemberNotLearnerError,
  NoLeaderError,
  UserAlreadyExistsError,
} from "./errors";

interface EtcdMembershipBase {
  /** Client URLs to reach the cluster through (the known members'), e.g. `http://10.0.1.5:2379`. */
  readonly endpoints: readonly string[];
  /** Bound on every member list or membership change, dial included. @default 3000 */
  readonly callTimeoutMs?: number;
  /** Bound on a status call; a member that does not answer within it is unhealthy. @default 1000 */
  readonly statusTimeoutMs?: number;
  /** The client URL of the member a reading made moments ago found to be etcd's leader: changes go
   * there without probing every endpoint again. A leader lost since then costs what a follower that
   * lost its leader costs anyway: the call's deadline, and an outcome settled by the member list. */
  readonly leader?: string | undefined;
}

/** Clients of its own, closed on close(), or clients of a pool, which carry the pool's certificate:
 * one or the other. */
export type EtcdMembershipOptions = EtcdMembershipBase &
  (
    | {
        /** The client certificate for https endpoints (mutual TLS); required when any endpoint is https. */
        readonly tls?: TlsIdentitySource;
        readonly pool?: undefined;
      }
    | {
        /** Where clients come from and go back to on close, with the pool's own certificate: the
         * adapters of one invocation share their connections. */
        readonly pool: EtcdEndpointPool;
        readonly tls?: undefined;
      }
  );

/** A member as etcd's MemberList shows it. IDs are decimal strings. */
export interface EtcdMember {
  readonly id: string;
  /** Empty until the member has started. */
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

/** The outcome of a status call to one endpoint: `status` when it answered, `error` when not. */
export type EndpointProbe =
  | { readonly endpoint: string; readonly answered: true; readonly status: EndpointStatus }
  | { readonly endpoint: string; readonly answered: false; readonly error: EtcdAdapterError };

const DEFAULT_CALL_TIMEOUT_MS = 3000;
const DEFAULT_STATUS_TIMEOUT_MS = 1000;
const MEMBER_ID = /^[1-9][0-9]*$/;
/** etcd's superuser, and the control plane's identity: its client certificate's CN. */
const ROOT = "root";

export class EtcdMembership {
  private readonly endpoints: readonly string[];
  private readonly callTimeoutMs: number;
  private readonly statusTimeoutMs: number;
  private readonly tls: TlsIdentitySource | undefined;
  private readonly pool: EtcdEndpointPool | undefined;
  private readonly knownLeader: string | undefined;
  private readonly clients = new Map<string, EtcdEndpoint>();

  constructor(options: EtcdMembershipOptions) {
    if (options.endpoints.length === 0) {
      throw new InvalidEtcdInputError("endpoints", "at least one etcd client URL is needed");
    }
    this.callTimeoutMs = positive("callTimeoutMs", options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS);
    this.statusTimeoutMs = positive("statusTimeoutMs", options.statusTimeoutMs ?? DEFAULT_STATUS_TIMEOUT_MS);
    if (options.tls !== undefined && options.pool !== undefined) {
      throw new InvalidEtcdInputError(
        "tls",
        "give a certificate or a pool (whose clients carry its own), not both",
      );
    }
    this.tls = options.tls;
    this.pool = options.pool;
    this.endpoints = [...new Set(options.endpoints)];
    this.knownLeader = options.leader;
    for (const url of this.endpoints) this.endpoint(url);
  }

  /** Maintenance.Status of one endpoint, which need not be one of `endpoints`. */
  endpointStatus(url: string): Promise<EndpointStatus> {
    return this.endpoint(url).status(this.statusTimeoutMs);
  }

  /** Status of each URL, in parallel; never throws. */
  probe(urls: readonly string[]): Promise<EndpointProbe[]> {
    return Promise.all(
      urls.map(async (url): Promise<EndpointProbe> => {
        try {
          return { endpoint: url, answered: true, status: await this.endpointStatus(url) };
        } catch (error) {
          return { endpoint: url, answered: false, error: error as EtcdAdapterError };
        }
      }),
    );
  }

  /**
   * The member list, from the leader if one answers, else from any voter that answers (etcd 3.4 serves
   * the list from the member's own store, so it is readable without quorum).
   */
  async listMembers(): Promise<EtcdMember[]> {
    return this.list(await this.probe(this.endpoints));
  }

  /** The members as the engine's snapshot takes them, each with a status call to its own client URL. */
  async readMembers(): Promise<Member[]> {
    return (await this.readMembersAndLeaders()).members;
  }

  /**
   * readMembers(), and from the same status calls what each member that answered names as its leader
   * ("0": none), so that health is judged on one sample.
   */
  async readMembersAndLeaders(): Promise<{ members: Member[]; reports: StatusReport[] }> {
    const probes = await this.probe(this.endpoints);
    const members = await this.list(probes);
    const unprobed = members
      .flatMap((m) => m.clientUrls.slice(0, 1))
      .filter((url) => !probes.some((p) => p.endpoint === url));
    const answers = new Map<string, EndpointStatus>();
    for (const probe of [...probes, ...(await this.probe(unprobed))]) {
      if (probe.answered) answers.set(probe.endpoint, probe.status);
    }
    const reports: StatusReport[] = [];
    const read = members.map((member) => {
      const started = member.name !== "" && member.clientUrls.length > 0;
      const clientUrl = member.clientUrls[0];
      const status = clientUrl === undefined ? undefined : answers.get(clientUrl);
      if (status !== undefined) reports.push({ memberId: status.memberId, leaderId: status.leaderId });
      const leader = status !== undefined && status.memberId === status.leaderId;
      return { ...member, started, healthy: status !== undefined, leader };
    });
    return { members: read, reports };
  }

  /**
   * Adds a learner with this peer URL, or returns the member that already has it (whatever its name or
   * role: the caller decides whether it is stale).
   */
  async addLearner(peerUrl: string): Promise<EtcdMember> {
    assertPeerUrl(peerUrl);
    return this.atLeader(async (leader) => {
      const existing = withPeerUrl(await this.listAt(leader), peerUrl);
      if (existing !== undefined) return existing;
      try {
        const response = await leader.call("member add", (client, options) =>
          client.cluster.memberAdd({ peerURLs: [peerUrl], isLearner: true }, options),
        );
        return toEtcdMember(response.member);
      } catch (error) {
        const translated = error as EtcdAdapterError;
        if (!(translated instanceof MemberAlreadyExistsError) && !translated.retryable) throw translated;
        // The add may have been applied (lost answer) or made by someone else meanwhile: look it up.
        const added = withPeerUrl(await this.listMembersOr(translated), peerUrl);
        if (added === undefined) throw translated;
        return added;
      }
    });
  }

  /** Promotes a learner; a member that is already a voter is left as it is. */
  async promote(memberId: string): Promise<void> {
    assertMemberId(memberId);
    await this.atLeader(async (leader) => {
      try {
        await leader.call("member promote", (client, options) =>
          client.cluster.memberPromote({ ID: memberId }, options),
        );
      } catch (error) {
        const translated = error as EtcdAdapterError;
        if (translated instanceof MemberNotLearnerError) return;
        if (!(translated instanceof EtcdUnavailableError)) throw translated;
        const member = (await this.listMembersOr(translated)).find((m) => m.id === memberId);
        if (member === undefined) {
          throw new MemberNotFoundError(`member ${memberId} is not in the cluster`, translated);
        }
        if (member.isLearner) throw translated;
      }
    });
  }

  /** Removes a member; one that is not (or no longer) in the cluster counts as removed. */
  async remove(memberId: string): Promise<void> {
    assertMemberId(memberId);
    await this.atLeader(async (leader) => {
      try {
        await leader.call("member remove", (client, options) =>
          client.cluster.memberRemove({ ID: memberId }, options),
        );
      } catch (error) {
        const translated = error as EtcdAdapterError;
        if (translated instanceof MemberNotFoundError) return;
        if (!(translated instanceof EtcdUnavailableError)) throw translated;
        const members = await this.listMembersOr(translated);
        if (members.some((m) => m.id === memberId)) throw translated;
      }
    });
  }

  /**
   * Turns etcd authentication on with the control plane as its root user: the user `root`, without
   * a password (etcd takes a client certificate's CN as the user name), granted the root role, then
   * AuthEnable. Every step is idempotent — an existing user is kept, a granted role and an enabled
   * auth are no-ops in etcd — so a call cut short is finished by the next one.
   */
  async enableAuth(): Promise<void> {
    await this.atLeader(async (leader) => {
      try {
        await leader.call("user add", (client, options) =>
          client.auth.userAdd({ name: ROOT, password: "", options: { no_password: true } }, options),
        );
      } catch (error) {
        if (!(error instanceof UserAlreadyExistsError)) throw error;
      }
      await leader.call("user grant-role", (client, options) =>
        client.auth.userGrantRole({ user: ROOT, role: ROOT }, options),
      );
      await leader.call("auth enable", (client, options) => client.auth.authEnable(options));
    });
  }

  /** Closes every client this adapter opened, or hands it back to the pool it came from. */
  close(): void {
    for (const client of this.clients.values()) {
      if (this.pool === undefined) client.close();
      else this.pool.release(client);
    }
    this.clients.clear();
  }

  private endpoint(url: string): EtcdEndpoint {
    let endpoint = this.clients.get(url);
    if (endpoint === undefined) {
      endpoint =
        this.pool?.acquire(url, this.callTimeoutMs) ?? new EtcdEndpoint(url, this.callTimeoutMs, this.tls);
      this.clients.set(url, endpoint);
    }
    return endpoint;
  }

  /**
   * The endpoint of the member that reports itself leader. Changes go there only: a follower that has
   * lost its leader drops proposals, and the call would hang until its deadline with its outcome unknown.
   * A leader that is not among `probes` is found through the member list and probed as well.
   */
  private async leader(probes: readonly EndpointProbe[]): Promise<EtcdEndpoint> {
    const isLeader = (p: EndpointProbe) => p.answered && p.status.memberId === p.status.leaderId;
    let leader = probes.find(isLeader);
    const named = probes.flatMap((p) => (p.answered && p.status.leaderId !== "0" ? [p.status.leaderId] : []));
    if (leader === undefined && named[0] !== undefined) {
      const leaderId = named[0];
      const members = await this.list(probes);
      const url = members.find((m) => m.id === leaderId)?.clientUrls[0];
      if (url !== undefined) leader = (await this.probe([url])).find(isLeader);
    }
    if (leader === undefined) {
      throw new NoLeaderError(`no leader among ${describeProbes(probes)} (an election may be under way)`);
    }
    return this.endpoint(leader.endpoint);
  }

  /**
   * Runs `step` at etcd's leader: at the member a reading found leader moments ago (the `leader`
   * option) without probing every endpoint again, and, when that member cannot be reached and the
   * step is not known to have been made (each step settles an unknown outcome by the member list
   * before it gives up), once more at the leader probing finds now. Every step is idempotent.
   */
  private async atLeader<T>(step: (leader: EtcdEndpoint) => Promise<T>): Promise<T> {
    if (this.knownLeader !== undefined) {
      try {
        return await step(this.endpoint(this.knownLeader));
      } catch (error) {
        if (!(error instanceof EtcdUnavailableError)) throw error;
      }
    }
    return step(await this.leader(await this.probe(this.endpoints)));
  }

  private async listAt(endpoint: EtcdEndpoint): Promise<EtcdMember[]> {
    const response = await endpoint.call("member list", (client, options) =>
      client.cluster.memberList({}, options),
    );
    return response.members.map(toEtcdMember);
  }

  /**
   * The member list from the voters that answered `probes`, leader first. Learners are skipped: etcd
   * refuses them most RPCs, MemberList included.
   */
  private async list(probes: readonly EndpointProbe[]): Promise<EtcdMember[]> {
    const voters = probes
      .flatMap((p) => (p.answered && !p.status.isLearner ? [p.status] : []))
      .sort((a, b) => Number(b.memberId === b.leaderId) - Number(a.memberId === a.leaderId));
    const failures: string[] = [];
    for (const status of voters) {
      try {
        return await this.listAt(this.endpoint(status.endpoint));
      } catch (error) {
        failures.push((error as EtcdAdapterError).message);
      }
    }
    throw new EtcdUnavailableError(
      `no voter answered a member list among ${describeProbes(probes)}${failures.map((f) => `; ${f}`).join("")}`,
    );
  }

  /** The member list, or `original` thrown if the list cannot be read either. */
  private async listMembersOr(original: EtcdAdapterError): Promise<EtcdMember[]> {
    try {
      return await this.listMembers();
    } catch {
      throw original;
    }
  }
}

function describeProbes(probes: readonly EndpointProbe[]): string {
  return probes
    .map((p) => {
      if (!p.answered) return `${p.endpoint} (${p.error.message})`;
      const role = p.status.isLearner
        ? "learner"
        : p.status.leaderId === "0"
          ? "voter without a leader"
          : "follower";
      return `${p.endpoint} (${p.status.memberId === p.status.leaderId ? "leader" : role})`;
    })
    .join(", ");
}

function toEtcdMember(member: IMember): EtcdMember {
  return {
    id: member.ID,
    name: member.name,
    peerUrls: [...member.peerURLs],
    clientUrls: [...member.clientURLs],
    isLearner: member.isLearner,
  };
}

function withPeerUrl(members: readonly EtcdMember[], peerUrl: string): EtcdMember | undefined {
  return members.find((member) => member.peerUrls.includes(peerUrl));
}

function assertMemberId(memberId: string): void {
  if (!MEMBER_ID.test(memberId)) {
    throw new InvalidEtcdInputError(
      "member ID",
      `${JSON.stringify(memberId)} is not a decimal etcd member ID`,
    );
  }
}

function assertPeerUrl(peerUrl: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(peerUrl);
  } catch {
    parsed = undefined;
  }
  if (
    parsed === undefined ||
    (parsed.protocol !== "http:" && parsed.protocol !== "https:") ||
    parsed.port === ""
  ) {
    throw new InvalidEtcdInputError(
      "peer URL",
      `${JSON.stringify(peerUrl)} must be http(s)://ip:port, e.g. http://10.0.1.5:2380`,
    );
  }
}

function positive(option: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidEtcdInputError(option, `must be a positive number of milliseconds, got ${value}`);
  }
  return value;
}
