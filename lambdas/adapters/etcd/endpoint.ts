// One etcd3 client per client URL. etcd3 balances a multi-host client over random hosts, so "the status
// of this member" needs a client that knows only that member. Fault handling is switched off: the
// default opens a circuit breaker after 3 errors that then fails unrelated calls for 5 s, and retries
// calls on other hosts; this adapter owns the retry policy instead (none: it re-reads and reports).
//
// etcd3 and @grpc/grpc-js under it load on the first call, not at a Lambda's init: an invocation
// that never reaches etcd (a node API answer already in the ledger, a launch before the initial
// cluster runs) does not pay for them. Once loaded, Node's module cache keeps them for the container.
import type { Etcd3 } from "etcd3";
import { InvalidEtcdInputError } from "./errors";
import { translateEtcdError } from "./translate";

/** The client certificate, its key and the CA that signs the servers' certificates: what an https
 * endpoint presents and trusts. The control plane's is minted in memory (app/pki.ts). */
export interface EtcdTlsIdentity {
  readonly caPem: string;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

/** Gives the current identity; asked once per client, so a renewed certificate serves new clients. */
export type TlsIdentitySource = () => Promise<EtcdTlsIdentity>;

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
  /** The key-value revision of the member's store, from the response header (decimal string): its
   * data holds every write up to it. */
  readonly revision: string;
  readonly version: string;
  /** Alarms and other errors the member reports, e.g. "NOSPACE". */
  readonly errors: readonly string[];
}

export class EtcdEndpoint {
  private client: Promise<Etcd3> | undefined;

  constructor(
    readonly url: string,
    /** Bound on each call, dial included: a gRPC deadline covers connecting as well. */
    private readonly callTimeoutMs: number,
    /** Required for an https URL: mutual TLS. */
    private readonly tls?: TlsIdentitySource,
  ) {
    assertClientUrl(url);
    if (url.startsWith("https:") && tls === undefined) {
      throw new InvalidEtcdInputError("etcd client URL", `${url} is https: a client certificate is needed`);
    }
  }

  /**
   * Runs one call with a deadline `timeoutMs` (the endpoint's call timeout by default) from now, and
   * translates what it throws. The deadline starts once the client exists, so loading etcd3 does
   * not eat into the first call's time.
   */
  async call<T>(
    operation: string,
    run: (client: Etcd3, options: { deadline: Date }) => Promise<T>,
    timeoutMs?: number,
  ): Promise<T> {
    try {
      const client = await this.connect();
      return await run(client, { deadline: new Date(Date.now() + (timeoutMs ?? this.callTimeoutMs)) });
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
      revision: status.header.revision,
      version: status.version,
      errors: status.errors,
    };
  }

  /** Closes the client if a call opened one. */
  close(): void {
    // A client that failed to load was reported by the call that asked for it.
    this.client?.then(
      (client) => client.close(),
      () => undefined,
    );
  }

  private connect(): Promise<Etcd3> {
    this.client ??= Promise.all([loadEtcdClient(), this.tls?.()]).then(
      ([[{ Etcd3 }, { noop }], identity]) =>
        new Etcd3({
          hosts: this.url,
          faultHandling: { host: () => noop, global: noop },
          ...(identity === undefined
            ? {}
            : {
                credentials: {
                  rootCertificate: Buffer.from(identity.caPem),
                  certChain: Buffer.from(identity.certificatePem),
                  privateKey: Buffer.from(identity.privateKeyPem),
                },
              }),
        }),
    );
    // A client that failed to build (no identity yet: KMS unavailable) is not kept.
    this.client.catch(() => {
      this.client = undefined;
    });
    return this.client;
  }
}

/** etcd's client code (lib/etcd-client.js in a bundle), loaded on first use: most invocations of
 * some functions never reach etcd. */
export function loadEtcdClient() {
  return Promise.all([import("etcd3"), import("cockatiel")]);
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
