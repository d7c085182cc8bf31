// etcd clients kept for the next decision of the same invocation. One membership change reads etcd
// several times in a row (a decision, the same again under the lock, the change, a decision after
// it), each through an adapter of its own; each fresh client is a TLS handshake and an HTTP/2
// connection per member, on a node's way to a voter. The pool hands the client of a URL to every
// adapter that asks while one uses it or less than IDLE_MS after the last handed it back (gRPC runs
// concurrent calls on one connection), and closes it once idle for longer. A Lambda container
// frozen between invocations comes back with its clients past IDLE_MS by the wall clock, so an
// invocation never inherits a connection that slept through a freeze; and no client is handed out
// once MAX_AGE_MS old, so a renewed client certificate is presented soon.
import { EtcdEndpoint, type TlsIdentitySource } from "./endpoint";

/** A client idle for longer is closed rather than handed out again. */
const IDLE_MS = 1000;
/** A client this old is not handed out again (closed once no adapter uses it). */
const MAX_AGE_MS = 30_000;

interface Pooled {
  readonly endpoint: EtcdEndpoint;
  readonly key: string;
  readonly createdAt: number;
  /** Adapters using it now. */
  users: number;
  idleSince: number;
  idleTimer?: NodeJS.Timeout;
}

export class EtcdEndpointPool {
  /** The client handed out for each URL and call timeout, in use or idle. */
  private readonly current = new Map<string, Pooled>();
  private readonly pooled = new Map<EtcdEndpoint, Pooled>();

  constructor(
    private readonly tls?: TlsIdentitySource,
    private readonly now: () => number = Date.now,
  ) {}

  /** A client of `url` with calls bounded by `callTimeoutMs`: the one in use or handed back moments
   * ago, or a new one. */
  acquire(url: string, callTimeoutMs: number): EtcdEndpoint {
    const key = `${callTimeoutMs} ${url}`;
    const now = this.now();
    let entry = this.current.get(key);
    if (
      entry !== undefined &&
      (this.stale(entry, now) || (entry.users === 0 && now - entry.idleSince > IDLE_MS))
    ) {
      // Not handed out again: closed now if idle, else once its last user hands it back.
      this.current.delete(key);
      if (entry.users === 0) this.close(entry);
      entry = undefined;
    }
    if (entry === undefined) {
      entry = {
        endpoint: new EtcdEndpoint(url, callTimeoutMs, this.tls),
        key,
        createdAt: now,
        users: 0,
        idleSince: now,
      };
      this.current.set(key, entry);
      this.pooled.set(entry.endpoint, entry);
    }
    clearTimeout(entry.idleTimer);
    entry.users += 1;
    return entry.endpoint;
  }

  /** Hands a client back: once no adapter uses it, kept IDLE_MS for the next one, then closed. */
  release(endpoint: EtcdEndpoint): void {
    const entry = this.pooled.get(endpoint);
    if (entry === undefined || entry.users === 0) return;
    entry.users -= 1;
    if (entry.users > 0) return;
    const now = this.now();
    if (this.current.get(entry.key) !== entry || this.stale(entry, now)) {
      if (this.current.get(entry.key) === entry) this.current.delete(entry.key);
      this.close(entry);
      return;
    }
    entry.idleSince = now;
    // Unreferenced: an idle client never keeps a process alive, and a frozen container's timer is moot.
    entry.idleTimer = setTimeout(() => {
      if (this.current.get(entry.key) === entry) this.current.delete(entry.key);
      this.close(entry);
    }, IDLE_MS).unref();
  }

  private stale(entry: Pooled, now: number): boolean {
    return now - entry.createdAt > MAX_AGE_MS;
  }

  private close(entry: Pooled): void {
    clearTimeout(entry.idleTimer);
    this.pooled.delete(entry.endpoint);
    entry.endpoint.close();
  }
}
