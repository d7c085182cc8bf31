// Watches the cluster throughout a chaos run, once a second: the cluster ID every running member
// reports in its response header (there must only ever be one), and the learners in the member
// list (etcd and the control plane both allow at most one at a time).
import { etcdClient, memberList } from "../local/simulator/etcd-client";
import type { EtcdTls } from "../local/simulator/operator-identity";
import type { Simulator } from "../local/simulator/simulator";

const CALL_TIMEOUT_MS = 1500;

export class ClusterMonitor {
  /** Cluster ID → the first member (client URL) seen reporting it. */
  readonly clusterIds = new Map<string, string>();
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
    await Promise.all(urls.map((url) => this.recordClusterId(url, tls)));
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
