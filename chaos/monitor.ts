// Watches the cluster throughout a chaos run, once a second: the cluster ID every running member
// reports in its response header (there must only ever be one, unless a majority was lost for good),
// the cluster ID of every member that serves a linearizable read under each ledger generation (at
// most one per generation: the generation is read before and after, and a sample across a change is
// dropped), and the learners in the member list (etcd and the control plane both allow at most one
// at a time). A member of an old generation left without quorum serves no linearizable read, so only
// a cluster that serves counts for its generation.
import { etcdClient, memberList } from "../local/simulator/etcd-client";
import type { EtcdTls } from "../local/simulator/operator-identity";
import type { Simulator } from "../local/simulator/simulator";
import { LedgerView } from "./ledger-view";

const CALL_TIMEOUT_MS = 1500;

export class ClusterMonitor {
  /** Cluster ID → the first member (client URL) seen reporting it. */
  readonly clusterIds = new Map<string, string>();
  /** Ledger generation → cluster ID → the first member (client URL) seen serving under it. */
  readonly idsByGeneration = new Map<number, Map<string, string>>();
  /** Samples with more than one learner, as "n learners: names". */
  readonly learnerExcess: string[] = [];
  maxLearners = 0;
  samples = 0;
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;

  constructor(
    private readonly sim: Simulator,
    private readonly periodMs = 1000,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => {
      if (this.busy) return;
      this.busy = this.sample().finally(() => {
        this.busy = undefined;
      });
    }, this.periodMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.busy;
  }

  /** One sample now (also used for the final check). */
  async sample(): Promise<void> {
    const urls = this.sim.clientUrls();
    const tls = await this.sim.etcdTls();
    this.samples += 1;
    await Promise.all([
      ...urls.map((url) => this.recordClusterId(url, tls)),
      this.recordServingIds(urls, tls),
    ]);
    try {
      const learners = (await memberList(urls, tls)).filter((m) => m.isLearner);
      this.maxLearners = Math.max(this.maxLearners, learners.length);
      if (learners.length > 1) {
        this.learnerExcess.push(
          `${learners.length} learners: ${learners.map((m) => m.name || m.id).join(", ")}`,
        );
      }
    } catch {
      // No member answers right now (an election, a frozen member): the next sample looks again.
    }
  }

  /** The cluster IDs of the members serving a linearizable read, under the generation the ledger
   * held both before and after they answered. */
  private async recordServingIds(urls: readonly string[], tls: EtcdTls): Promise<void> {
    const ledger = new LedgerView(this.sim);
    const generation = () => ledger.generation().catch(() => undefined);
    let before: number | undefined;
    let served: (readonly [string, string | undefined])[];
    try {
      before = await generation();
      if (before === undefined) return; // no cluster yet, or the ledger does not answer (ledger-outage)
      served = await Promise.all(urls.map(async (url) => [url, await servingId(url, tls)] as const));
      if ((await generation()) !== before) return;
    } finally {
      ledger.close();
    }
    const ids = this.idsByGeneration.get(before) ?? new Map<string, string>();
    for (const [url, id] of served) if (id !== undefined && !ids.has(id)) ids.set(id, url);
    if (ids.size > 0) this.idsByGeneration.set(before, ids);
  }

  private async recordClusterId(url: string, tls: EtcdTls): Promise<void> {
    const client = etcdClient(url, tls);
    try {
      const status = await client.maintenance.status({ deadline: new Date(Date.now() + CALL_TIMEOUT_MS) });
      const id = status.header.cluster_id;
      if (!this.clusterIds.has(id)) this.clusterIds.set(id, url);
    } catch {
      // A member that does not answer (killed, frozen, still starting) reports nothing this time.
    } finally {
      client.close();
    }
  }
}

/** The cluster ID in the header of a linearizable read `url` serves; undefined when it serves none. */
export async function servingId(url: string, tls: EtcdTls): Promise<string | undefined> {
  const client = etcdClient(url, tls);
  try {
    const response = await client
      .get("chaos/monitor-probe")
      .options({ deadline: new Date(Date.now() + CALL_TIMEOUT_MS) })
      .exec();
    return response.header.cluster_id;
  } catch {
    return undefined;
  } finally {
    client.close();
  }
}
