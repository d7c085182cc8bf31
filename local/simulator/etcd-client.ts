// What the simulator (and the tests on it) ask etcd, as an operator would: the member list, and
// keys written and read with quorum. Each call tries the given client URLs one at a time with a
// short deadline (a killed or frozen member must not hang it) until one answers. Puts and default
// (linearizable) reads both go through the raft quorum.
import { noop } from "cockatiel";
import { Etcd3 } from "etcd3";

export interface EtcdMember {
  readonly id: string;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly isLearner: boolean;
}

export class EtcdUnavailableError extends Error {
  override readonly name = "EtcdUnavailableError";
}

const CALL_TIMEOUT_MS = 3000;

async function onAnyMember<T>(
  urls: readonly string[],
  operation: string,
  run: (client: Etcd3, deadline: Date) => Promise<T>,
): Promise<T> {
  let lastError: unknown;
  for (const url of urls) {
    const client = new Etcd3({ hosts: url, faultHandling: { host: () => noop, global: noop } });
    try {
      return await run(client, new Date(Date.now() + CALL_TIMEOUT_MS));
    } catch (error) {
      lastError = error;
    } finally {
      client.close();
    }
  }
  throw new EtcdUnavailableError(`${operation}: no member answered among ${urls.join(", ") || "(none)"}`, {
    cause: lastError,
  });
}

export function memberList(urls: readonly string[]): Promise<EtcdMember[]> {
  return onAnyMember(urls, "member list", async (client, deadline) => {
    const { members } = await client.cluster.memberList({}, { deadline });
    return members.map((m) => ({ id: m.ID, name: m.name, peerUrls: m.peerURLs, isLearner: m.isLearner }));
  });
}

export function putKey(urls: readonly string[], key: string, value: string): Promise<void> {
  return onAnyMember(urls, `put ${key}`, async (client, deadline) => {
    await client.put(key).value(value).options({ deadline }).exec();
  });
}

export function getKey(urls: readonly string[], key: string): Promise<string | null> {
  return onAnyMember(urls, `get ${key}`, (client, deadline) =>
    client.get(key).options({ deadline }).string(),
  );
}
