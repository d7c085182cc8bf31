// Which instance's etcd leads the cluster right now, as the members that answer report it.
import { etcdClient, memberList } from "../local/simulator/etcd-client";
import type { Simulator } from "../local/simulator/simulator";

const CALL_TIMEOUT_MS = 1500;

/** The instance ID (etcd member name) of the leader a member reports; throws when none answers. */
export async function leaderInstance(sim: Simulator): Promise<string> {
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
