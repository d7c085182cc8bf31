// Picks the member a replacement benchmark removes, the same way for etcd-asg and for the baseline:
// the most recently started member that is not the leader. Not the leader, so that no election
// adds a second of noise to one side only; the newest, so that the survivors have been connected
// for longer than etcd's 5 s window in which it refuses to add a member.
import { etcdClient } from "../local/simulator/etcd-client";
import type { EtcdTls } from "../local/simulator/operator-identity";

export interface NamedMember {
  readonly name: string;
  readonly clientUrl: string;
}

/** `members` oldest first; returns the newest one that is not the leader (asked as `tls`). */
export async function pickVictim<T extends NamedMember>(members: readonly T[], tls: EtcdTls): Promise<T> {
  const leader = await leaderName(
    members.map((m) => m.clientUrl),
    tls,
  );
  const victim = [...members].reverse().find((m) => m.name !== leader);
  if (victim === undefined) throw new Error("no member other than the leader to replace");
  return victim;
}

/** Asks each member in turn (one may be down) whom it follows. */
async function leaderName(urls: readonly string[], tls: EtcdTls): Promise<string | undefined> {
  let lastError: unknown;
  for (const url of urls) {
    const client = etcdClient(url, tls);
    try {
      const deadline = new Date(Date.now() + 3000);
      const status = await client.maintenance.status({ deadline });
      const { members } = await client.cluster.memberList({}, { deadline });
      return members.find((m) => m.ID === status.leader)?.name;
    } catch (error) {
      lastError = error;
    } finally {
      client.close();
    }
  }
  throw new Error(`no member answered a status request among ${urls.join(", ")}`, { cause: lastError });
}
