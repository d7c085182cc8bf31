// What chaos reads from the simulator's ledger, as an operator's tooling would (the real Ledger
// adapter, the operator's credentials, through the simulator's IAM gate): the cluster's generation
// and the latest snapshot record. majority-lost reads both around its loss; the monitor samples the
// generation to attribute each cluster ID it sees to one.
import { Ledger } from "../lambdas/adapters/ledger/ledger";
import { MemberHealthLedger } from "../lambdas/adapters/ledger/member-health";
import type { SnapshotRecord } from "../lambdas/domain/durability";
import { type LocalDynamoDbClients, localDynamoDbClients } from "../local/dynamodb/clients";
import type { Simulator } from "../local/simulator/simulator";

export class LedgerView {
  private readonly clients: LocalDynamoDbClients;
  private readonly ledger: Ledger;
  private readonly health: MemberHealthLedger;

  constructor(sim: Simulator) {
    const endpoint = sim.services.endpoints.AWS_ENDPOINT_URL_DYNAMODB;
    const clusterName = sim.stack.functions.map((fn) => fn.environment.CLUSTER_NAME).find(Boolean);
    if (endpoint === undefined || clusterName === undefined) {
      throw new Error("the simulator has no ledger endpoint or no function names the cluster (CLUSTER_NAME)");
    }
    this.clients = localDynamoDbClients(endpoint, sim.iam.operator);
    const options = { client: this.clients.documentClient, tableName: sim.stack.table.name, clusterName };
    this.ledger = new Ledger(options);
    this.health = new MemberHealthLedger(options);
  }

  /** The ledger's current generation; undefined before the cluster formed. */
  async generation(): Promise<number | undefined> {
    return (await this.ledger.loadState()).cluster?.generation;
  }

  latestSnapshot(): Promise<SnapshotRecord | undefined> {
    return this.ledger.latestSnapshot();
  }

  /** The instances whose member the control plane last saw silent (a streak under way), each with
   * the time (ms since the epoch) its silence is counted from. */
  async silences(): Promise<ReadonlyMap<string, number>> {
    const { sightings } = await this.health.load();
    return new Map(
      sightings.flatMap((s) => (s.unhealthySince === undefined ? [] : [[s.instanceId, s.unhealthySince]])),
    );
  }

  close(): void {
    this.clients.destroy();
  }
}
