// The network fault kinds of a chaos run, each a real fault on etcd's own traffic over loopback
// (chaos/network: per-UID nftables rules, an NFQUEUE reader for delays): one node isolated, the
// leader isolated, a minority split from a majority, one node's packets to its peers lost one way,
// latency added to everything a node sends, and the Lambdas cut off from one node. Each is armed
// for a while shorter than any grace the control plane keeps, then healed; a fault whose rules
// matched no packet did nothing and is not counted.
import type { Simulator } from "../local/simulator/simulator";
import { leaderInstance } from "./leader";
import type { NetworkFaults } from "./network/controller";
import { controlPlaneIdentity, type NodeIdentity, nodeIdentity } from "./network/identity";

export const NETWORK_FAULT_KINDS = [
  "partition-one",
  "partition-leader",
  "partition-split",
  "partition-asymmetric",
  "latency",
  "partition-control-plane",
] as const;

export type NetworkFaultKind = (typeof NETWORK_FAULT_KINDS)[number];

/** What a network fault episode draws from its seed. */
export interface NetworkFaultPlan {
  /** Which InService node (oldest first, modulo their count) the fault acts on, or the minority's first. */
  readonly target: number;
  /** How long the fault lasts before it is healed. */
  readonly forMs: number;
  /** partition-asymmetric: the share of the node's packets to its peers that is lost. */
  readonly lossProbability: number;
  /** latency: what is added to everything the node sends. */
  readonly delayMs: number;
}

export function isNetworkFaultKind(kind: string): kind is NetworkFaultKind {
  return (NETWORK_FAULT_KINDS as readonly string[]).includes(kind);
}

/** The InService nodes running etcd, oldest first, as network identities. */
export function nodeIdentities(sim: Simulator): NodeIdentity[] {
  return sim
    .instances("InService")
    .sort((a, b) => a.launchTime - b.launchTime)
    .filter((i) => sim.nodes.get(i.id)?.etcdRunning() === true)
    .map((i) => nodeIdentity(i.id, i.privateIp));
}

/** Arms `kind` on the running cluster; resolves to the controller's fault IDs to heal. */
export async function armNetworkFault(
  net: NetworkFaults,
  sim: Simulator,
  kind: NetworkFaultKind,
  plan: NetworkFaultPlan,
): Promise<number[]> {
  const nodes = nodeIdentities(sim);
  if (nodes.length < 2) throw new Error(`${kind}: fewer than two nodes run etcd`);
  const target = nodes[plan.target % nodes.length] as NodeIdentity;
  const peers = (node: NodeIdentity) => nodes.filter((n) => n.uid !== node.uid);
  switch (kind) {
    case "partition-one":
      return [await net.isolate(target)];
    case "partition-leader": {
      const leader = await leaderInstance(sim);
      const node = nodes.find((n) => n.name === leader);
      if (node === undefined)
        throw new Error(`partition-leader: no InService node is the leader (${leader})`);
      return [await net.isolate(node)];
    }
    case "partition-split": {
      // The minority: floor((n-1)/2) nodes from the target on, so the rest keeps a quorum.
      const count = Math.floor((nodes.length - 1) / 2);
      const start = plan.target % nodes.length;
      const minority = Array.from(
        { length: count },
        (_, i) => nodes[(start + i) % nodes.length] as NodeIdentity,
      );
      const majority = nodes.filter((n) => !minority.includes(n));
      return [await net.partition(minority, majority)];
    }
    case "partition-asymmetric":
      return Promise.all(peers(target).map((peer) => net.dropOneWay(target, peer, plan.lossProbability)));
    case "latency":
      return [await net.delay(target, plan.delayMs, Math.round(plan.delayMs / 10))];
    case "partition-control-plane":
      return [await net.cutFromControlPlane(target, controlPlaneIdentity(addressPrefix(target.ip)))];
  }
}

/** The simulator's 127.0.X block of a node's address, whose host 0 is its Lambda workers' identity. */
function addressPrefix(ip: string): string {
  return ip.split(".").slice(0, 3).join(".");
}

/** Packets the faults matched (dropped, or delayed): 0 means they did nothing. */
export async function matchedPackets(net: NetworkFaults, ids: readonly number[]): Promise<number> {
  const counts = await Promise.all(ids.map((id) => net.counters(id)));
  return counts.reduce((sum, count) => sum + count.packets, 0);
}
