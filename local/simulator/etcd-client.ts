// What the simulator (and the tests on it) ask etcd, as an operator would, over mutual TLS with the
// operator's certificate: the member list, a learner added or a member removed by hand, and keys
// written and read with quorum. Each call tries the given client URLs one at a time with a short
// deadline (a killed, frozen or terminated member must not hang it) until one answers. Puts and
// default (linearizable) reads both go through the raft quorum.
import { noop } from "cockatiel";
import { Etcd3 } from "etcd3";
import type { EtcdTls } from "./operator-identity";

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

/** A client of `hosts` that presents `tls` (etcd3's own fault handling off: the caller decides). */
export function etcdClient(hosts: string | string[], tls: EtcdTls): Etcd3 {
  return new Etcd3({
    hosts,
    faultHandling: { host: () => noop, global: noop },
    credentials: {
      rootCertificate: Buffer.from(tls.ca),
      certChain: Buffer.from(tls.cert),
      privateKey: Buffer.from(tls.key),
    },
  });
}

async function onAnyMember<T>(
  urls: readonly string[],
  tls: EtcdTls,
  operation: string,
  run: (client: Etcd3, deadline: Date) => Promise<T>,
): Promise<T> {
  let lastError: unknown;
  for (const url of urls) {
    const client = etcdClient(url, tls);
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

export function memberList(urls: readonly string[], tls: EtcdTls): Promise<EtcdMember[]> {
  return onAnyMember(urls, tls, "member list", async (client, deadline) => {
    const { members } = await client.cluster.memberList({}, { deadline });
    return members.map((m) => ({ id: m.ID, name: m.name, peerUrls: m.peerURLs, isLearner: m.isLearner }));
  });
}

/** True when the member at `url` answers a member list; false when it does not. */
export function answers(url: string, tls: EtcdTls): Promise<boolean> {
  return memberList([url], tls).then(
    () => true,
    () => false,
  );
}

/** The cluster ID an answering member reports (a new one after a recovery opened a new generation). */
export function clusterId(urls: readonly string[], tls: EtcdTls): Promise<string> {
  return onAnyMember(urls, tls, "cluster ID", async (client, deadline) => {
    const { header } = await client.cluster.memberList({}, { deadline });
    return header.cluster_id;
  });
}

/** An error of these calls with what the last member answered (kept as its cause), on one line. */
export function describeFailure(error: unknown): string {
  const cause = error instanceof Error && error.cause !== undefined ? `: ${String(error.cause)}` : "";
  return `${String(error)}${cause}`.replaceAll("\n", " ");
}

/** Adds a learner at `peerUrl` through the first member that answers; resolves to its member ID. */
export function addLearner(urls: readonly string[], tls: EtcdTls, peerUrl: string): Promise<string> {
  return onAnyMember(urls, tls, `add learner ${peerUrl}`, async (client, deadline) => {
    const { member } = await client.cluster.memberAdd({ peerURLs: [peerUrl], isLearner: true }, { deadline });
    return member.ID;
  });
}

export function removeMember(urls: readonly string[], tls: EtcdTls, id: string): Promise<void> {
  return onAnyMember(urls, tls, `remove member ${id}`, async (client, deadline) => {
    await client.cluster.memberRemove({ ID: id }, { deadline });
  });
}

/** Puts `key` with quorum on the first member that answers; resolves to the revision of the write. */
export function putKey(urls: readonly string[], tls: EtcdTls, key: string, value: string): Promise<number> {
  return onAnyMember(urls, tls, `put ${key}`, async (client, deadline) => {
    const { header } = await client.put(key).value(value).options({ deadline }).exec();
    return Number(header.revision);
  });
}

export function getKey(urls: readonly string[], tls: EtcdTls, key: string): Promise<string | null> {
  return onAnyMember(urls, tls, `get ${key}`, (client, deadline) =>
    client.get(key).options({ deadline }).string(),
  );
}
