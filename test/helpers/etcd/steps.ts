// Multi-step membership moves that several integration tests make on a test cluster: join a new member
// as a learner and start it, promote it once etcd says it is in sync, and retry while etcd refuses for a
// reason that clears by itself (the 5 s "every voter connected" window after a start, an election, a
// learner catching up).
import { setTimeout as sleep } from "node:timers/promises";
import type { EtcdMember, EtcdMembership } from "../../../lambdas/adapters/etcd";
import { isRetryable } from "../../../lambdas/errors";
import { type EtcdTestCluster, formatInitialCluster, type TestMember } from "./cluster";

/** Runs `step` again while it throws an error `isTransient` accepts, for at most `timeoutMs`. */
export async function retryWhile<T>(
  isTransient: (error: unknown) => boolean,
  step: () => Promise<T>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await step();
    } catch (error) {
      if (!isTransient(error) || Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}

/** Adds the member as a learner, waiting out the 5 s after a start in which etcd calls a cluster unhealthy. */
export function addLearnerWhenAllowed(membership: EtcdMembership, peerUrl: string): Promise<EtcdMember> {
  return retryWhile(isRetryable, () => membership.addLearner(peerUrl));
}

/** Promotes the learner as soon as etcd says it is in sync with the leader. */
export function promoteWhenReady(membership: EtcdMembership, memberId: string): Promise<void> {
  return retryWhile(isRetryable, () => membership.promote(memberId));
}

/** Removes the member, waiting out an election (the killed member was the leader) or, for a live voter, the 5 s window. */
export function removeWhenAllowed(membership: EtcdMembership, memberId: string): Promise<void> {
  return retryWhile(isRetryable, () => membership.remove(memberId));
}

/** Starts the process of the test-bed member `name`, which was added to etcd as `id`. */
export async function startLearner(
  cluster: EtcdTestCluster,
  membership: EtcdMembership,
  name: string,
  id: string,
): Promise<TestMember> {
  const member = cluster.member(name);
  const members = await membership.listMembers();
  const initialCluster = formatInitialCluster(
    members.map((m) => ({ name: m.id === id ? name : m.name, peerUrl: m.peerUrls[0] ?? "" })),
  );
  await cluster.startAdded({ name, peerUrl: member.peerUrl, initialCluster });
  return member;
}

/** Reserves a new member in the test bed, adds it as a learner and starts its etcd process. */
export async function joinAsLearner(
  cluster: EtcdTestCluster,
  membership: EtcdMembership,
): Promise<{ member: TestMember; id: string }> {
  const reserved = await cluster.reserveMember();
  const added = await addLearnerWhenAllowed(membership, reserved.peerUrl);
  return { member: await startLearner(cluster, membership, reserved.name, added.id), id: added.id };
}
