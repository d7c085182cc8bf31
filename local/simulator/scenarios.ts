// The scenarios `npm run local` can run on a simulator. Each drives the group the way AWS would
// (capacity changes, health replacement, instance refresh, lost events) and waits until etcd's
// member list follows; the caller then checks the end state (every key readable, no lifecycle
// action timed out).
import { clusterId } from "./etcd-client";
import { runInstanceRefresh } from "./instance-refresh";
import type { Simulator } from "./simulator";

export interface Scenario {
  readonly summary: string;
  run(sim: Simulator): Promise<void>;
}

async function bootstrap(sim: Simulator): Promise<void> {
  await sim.waitConverged(120_000);
  await sim.writeKeys("demo/bootstrap", 20);
}

async function scaleOutAndIn(sim: Simulator): Promise<void> {
  // CLUSTER_SIZE caps the voters and the group's MinSize and MaxSize follow it, so resizing the
  // cluster is a deploy of the app with another clusterSize: the group's desired capacity moves with
  // it. At the largest size (7) the cluster goes down to 5 and back up instead.
  const size = sim.size;
  const other = size === 7 ? 5 : size + 2;
  if (!sim.resizable) {
    sim.note(`resize to ${other} skipped: the given template fixes the cluster size`);
    return;
  }
  await sim.setClusterSize(other);
  await sim.waitConverged(120_000);
  await sim.writeKeys(`demo/at-${other}`, 10);
  await sim.setClusterSize(size);
  await sim.waitConverged(120_000);
}

/** kill -9 of one instance; the group's EC2 health check marks it Unhealthy and replaces it. */
async function killAndReplace(sim: Simulator): Promise<void> {
  const [victim] = sim.instances("InService");
  if (victim === undefined) throw new Error("no InService instance to kill");
  await sim.killInstance(victim.id);
  await sim.writeKeys("demo/after-kill", 10);
  await sim.waitFor(
    `the health check to replace ${victim.id}`,
    () => !sim.instances().some((i) => i.id === victim.id),
    120_000,
  );
  await sim.waitConverged(120_000);
}

/** etcd killed for good on one live node (its unit does not restart it): the instance stays
 * InService and healthy to EC2, and the reconciler's health pass sets it Unhealthy after the grace
 * period; the group replaces it. */
async function etcdFailure(sim: Simulator): Promise<void> {
  const [victim] = sim.instances("InService");
  if (victim === undefined) throw new Error("no InService instance");
  sim.note(`kill -9 etcd of ${victim.id} for good; the instance stays InService and healthy to EC2`);
  sim.node(victim.id).killEtcdForGood();
  await sim.waitFor(
    `the reconciler to set ${victim.id} Unhealthy (grace ${sim.overrides.healthGraceSeconds} s)`,
    () => sim.instances().some((i) => i.id === victim.id && i.healthStatus === "Unhealthy"),
    120_000,
  );
  sim.note(`${victim.id} set Unhealthy by the reconciler's health pass`);
  await sim.writeKeys("demo/after-etcd-failure", 10);
  await sim.waitFor(
    `${victim.id} to be replaced`,
    () => !sim.instances().some((i) => i.id === victim.id),
    120_000,
  );
  await sim.waitConverged(120_000);
}

/**
 * A majority lost for good (an AZ outage): a snapshot, more writes, then kill -9 of a majority of the
 * instances, which the group terminates (their data dirs go with them). Nobody acts: the reconciler
 * declares the quorum lost after the threshold, copies a survivor's newer data into S3, replaces the
 * survivors, opens a new generation, and the new instances restore it. Waits for a new cluster ID.
 */
async function majorityLost(sim: Simulator): Promise<void> {
  const tls = await sim.etcdTls();
  const before = await clusterId(sim.clientUrls(), tls);
  const taken = (await sim.fn("snapshot").invoke({ operation: "snapshot" })) as { key?: string };
  sim.note(`snapshot ${taken.key ?? "(none)"} taken (what \`npx etcd-asg snapshot\` does)`);
  await sim.writeKeys("demo/after-snapshot", 10);
  const inService = sim.instances("InService").map((i) => i.id);
  const victims = inService.slice(0, Math.floor(inService.length / 2) + 1);
  const lostAt = Date.now();
  for (const id of victims) await sim.killInstance(id);
  sim.note(
    `destroyed ${victims.join(", ")} for good: quorum lost; recovery after QUORUM_LOSS_THRESHOLD_SECONDS ${sim.overrides.quorumLossThresholdSeconds}`,
  );
  await sim.waitFor(
    "the cluster to serve again under a new cluster ID, on new instances only",
    async () =>
      (await sim.divergence()) === undefined &&
      sim.instances().every((i) => !inService.includes(i.id)) &&
      (await clusterId(sim.clientUrls(), tls).catch(() => before)) !== before,
    300_000,
  );
  sim.note(
    `serving again ${((Date.now() - lostAt) / 1000).toFixed(1)} s after the loss, cluster ID ${before} -> ${await clusterId(sim.clientUrls(), tls)}`,
  );
  await sim.writeKeys("demo/after-recovery", 10);
}

/** An operator refreshes every instance through the Auto Scaling API: one at a time, each
 * replacement launched before its old instance terminates. */
async function instanceRefresh(sim: Simulator): Promise<void> {
  const status = await runInstanceRefresh(
    sim,
    { MinHealthyPercentage: 100, MaxHealthyPercentage: 150 },
    300_000,
  );
  if (status !== "Successful") throw new Error(`the instance refresh ended ${status}`);
  await sim.waitConverged(120_000);
}

/**
 * `cdk deploy -c etcd-asg:instanceType=m7g.large`: a new launch template version, which the group's
 * update policy rolls out (an instance refresh the stack update waits for), one node at a time, launch
 * before terminate, while keys keep being written.
 */
async function upgrade(sim: Simulator): Promise<void> {
  if (!sim.resizable) {
    sim.note("upgrade skipped: the given template cannot be synthesized again with another instance type");
    return;
  }
  const result = await sim.redeploy({ "etcd-asg:instanceType": "m7g.large" });
  if (result.status !== "UPDATE_COMPLETE")
    throw new Error(`the stack update ended ${result.status}: ${result.reason}`);
  const stale = sim
    .instances()
    .filter((i) => i.launchTemplate?.version !== sim.group.launchTemplate?.version);
  if (stale.length > 0) throw new Error(`not rolled: ${stale.map((i) => i.id).join(", ")}`);
  await sim.writeKeys("demo/after-upgrade", 10);
  await sim.waitConverged(120_000);
}

/** The terminate event of a scale-in is lost; the reconciler finishes the removal. */
async function lostTerminateEvent(sim: Simulator): Promise<void> {
  sim.events.injectFaults((event) =>
    event["detail-type"] === "EC2 Instance-terminate Lifecycle Action" ? { drop: true } : undefined,
  );
  await sim.setClusterSize(sim.size + 2);
  await sim.waitConverged(120_000);
  await sim.setClusterSize(sim.size);
  await sim.waitConverged(120_000);
  sim.events.injectFaults(undefined);
}

export const SCENARIOS: Record<string, Scenario> = {
  demo: {
    summary:
      "bootstrap, write keys, scale out by 2 (7: in by 2) and back, kill -9 a node and let the group replace it",
    run: async (sim) => {
      await bootstrap(sim);
      await scaleOutAndIn(sim);
      await killAndReplace(sim);
    },
  },
  bootstrap: { summary: "bootstrap the cluster and write keys", run: bootstrap },
  scale: {
    summary: "bootstrap, then scale out by 2 and back in (7: in by 2 and back out)",
    run: async (sim) => {
      await bootstrap(sim);
      await scaleOutAndIn(sim);
    },
  },
  replace: {
    summary: "bootstrap, then kill -9 a node's etcd and let the group replace it",
    run: async (sim) => {
      await bootstrap(sim);
      await killAndReplace(sim);
    },
  },
  "etcd-failure": {
    summary:
      "bootstrap, then kill etcd for good on one live node: the reconciler sets it Unhealthy after the grace period and the group replaces it",
    run: async (sim) => {
      await bootstrap(sim);
      await etcdFailure(sim);
    },
  },
  disaster: {
    summary:
      "bootstrap, snapshot, write, then destroy a majority of the instances for good: the cluster comes back by itself as a new generation (new cluster ID) from the newest data",
    run: async (sim) => {
      await bootstrap(sim);
      await majorityLost(sim);
    },
  },
  refresh: {
    summary: "bootstrap, then refresh every instance (StartInstanceRefresh, launch before terminate)",
    run: async (sim) => {
      await bootstrap(sim);
      await instanceRefresh(sim);
    },
  },
  upgrade: {
    summary:
      "bootstrap, then deploy another instance type: the stack update rolls every node to the new launch template version, one at a time",
    run: async (sim) => {
      await bootstrap(sim);
      await upgrade(sim);
    },
  },
  "lost-event": {
    summary: "bootstrap, then scale out by 1 and in again with every terminate event lost",
    run: async (sim) => {
      await bootstrap(sim);
      await lostTerminateEvent(sim);
    },
  },
};
