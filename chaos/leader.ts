// Which instance's etcd leads the cluster right now, as the members that answer report it.
import { setTimeout as sleep } from "node:timers/promises";
import { etcdClient, memberList } from "../local/simulator/etcd-client";
import type { Simulator } from "../local/simulator/simulator";

const CALL_TIMEOUT_MS = 1500;
/** An election (after the leader's removal, say) takes about a second here; ten give it room. */
const ELECTION_MS = 10_000;

/**
 * The instance ID (etcd member name) of the leader a member reports, asked again while the cluster
 * has none (an election under way, seed 15844: a scale-in had just removed the leader); throws when
 * none is reported within ELECTION_MS.
 */
export async function leaderInstance(sim: Simulator): Promise<string> {
  const deadline = Date.now() + ELECTION_MS;
  for (;;) {
    try {
      return await reportedLeader(sim);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}

async function reportedLeader(sim: Simulator): Promise<string> {
  const tls = await sim.etcdTls();
  const urls = sim.clientUrls();
  const members = await memberList(urls, tls);
  for (const url of urls) {
    const client = etcdClient(url, tls);
    try {
      const status = await client.maintenance.status({ deadline: new Date(Date.now() + CALL_TIMEOUT_MS) });
      const leader = members.find((m) => m.id === status.leader);
      if (leader !== undefined && status.leader !== "0") return leader.name;
    } catch {
      // Not answering (isolated, frozen): ask the next.
    } finally {
      client.close();
    }
  }
  throw new Error(`no member among ${urls.join(", ")} reports a leader`);
}
