// One etcd3 client per client URL. etcd3 balances a multi-host client over random hosts, so "the status
// of this member" needs a client that knows only that member. Fault handling is switched off: the
// default opens a circuit breaker after 3 errors that then fails unrelated calls for 5 s, and retries
// calls on other hosts; this adapter owns the retry policy instead (none: it re-reads and reports).
import { noop } from "cockatiel";
import { Etcd3 } from "etcd3";
import { InvalidEtcdInputError } from "./errors";
import { translateEtcdError } from "./translate";

/** What Maintenance.Status says about the member behind one client URL. IDs are decimal strings. */
export interface EndpointStatus {
  readonly endpoint: string;
  readonly memberId: string;
  /** "0" while the member knows no leader. */
  readonly leaderId: string;
  readonly isLearner: boolean;
  readonly raftTerm: string;
  readonly raftIndex: string;
  readonly raftAppliedIndex: string;
  readonly version: string;
  /** Alarms and other errors the member reports, e.g. "NOSPACE". */
  readonly errors: readonly string[];
}

export class EtcdEndpoint {
  private readonly client: Etcd3;

  constructor(
    readonly url: string,
    /** Bound on each call, dial included: a gRPC deadline covers connecting as well. */
    private readonly callTimeoutMs: number,
  ) {
    assertClientUrl(url);
    this.client = new Etcd3({ hosts: url, faultHandling: { host: () => noop, global: noop } });
  }

  /**
   * Runs one call with a deadline `timeoutMs` (the endpoint's call timeout by default) from now, and
   * translates what it throws.
   */
  async call<T>(
    operation: string,
    run: (client: Etcd3, options: { deadline: Date }) => Promise<T>,
    timeoutMs?: number,
  ): Promise<T> {
    try {
      return await run(this.client, { deadline: new Date(Date.now() + (timeoutMs ?? this.callTimeoutMs)) });
    } catch (error) {
      throw translateEtcdError(error, operation, this.url);
    }
  }

  async status(timeoutMs?: number): Promise<EndpointStatus> {
    const status = await this.call(
      "status",
      (client, options) => client.maintenance.status(options),
      timeoutMs,
    );
    return {
      endpoint: this.url,
      memberId: status.header.member_id,
      leaderId: status.leader,
      isLearner: status.isLearner,
      raftTerm: status.raftTerm,
      raftIndex: status.raftIndex,
      raftAppliedIndex: status.raftAppliedIndex,
      version: status.version,
      errors: status.errors,
    };
  }

  close(): void {
    this.client.close();
  }
}

function assertClientUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidEtcdInputError("etcd client URL", `${JSON.stringify(url)} is not a URL`);
  }
  if ((parsed.protocol !== "http:" && parsed.protocol !== "https:") || parsed.port === "") {
    throw new InvalidEtcdInputError(
      "etcd client URL",
      `${JSON.stringify(url)} must be http(s)://host:port, e.g. http://10.0.1.5:2379`,
    );
  }
}
