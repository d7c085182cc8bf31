// Repeated membership changes through the etcd adapter converge instead of failing: the same add
// returns the same member, removing a missing member and promoting a voter are no-ops.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidEtcdInputError, MemberNotFoundError } from "../../lambdas/adapters/etcd";
import { membershipFor } from "../helpers/etcd/adapter";
import { startEtcdCluster } from "../helpers/etcd/cluster";
import { addLearnerWhenAllowed } from "../helpers/etcd/steps";

describe("idempotent etcd membership changes on a real cluster", { concurrency: true }, () => {
  test("returns the existing learner when the same peer URL is added again", async (t) => {
    const cluster = await startEtcdCluster(t, { size: 3 });
    const membership = membershipFor(t, cluster.clientUrls);
    const spare = await cluster.reserveMember();

    // Two adapters racing: both see no such member, both send MemberAdd, etcd refuses the second as a
    // duplicate and that adapter finds the first one's member by re-reading the list.
    const [first, racing] = await Promise.all([
      addLearnerWhenAllowed(membership, spare.peerUrl),
      addLearnerWhenAllowed(membershipFor(t, cluster.clientUrls), spare.peerUrl),
    ]);
    const again = await membership.addLearner(spare.peerUrl);

    assert.equal(racing.id, first.id);
    assert.deepEqual(again, first);
    const withPeerUrl = (await membership.listMembers()).filter((m) => m.peerUrls.includes(spare.peerUrl));
    assert.equal(withPeerUrl.length, 1);
  });

  test("treats removing a member that is not in the cluster as done, also twice", async (t) => {
    const cluster = await startEtcdCluster(t, { size: 1 });
    const membership = membershipFor(t, cluster.clientUrls);

    await membership.remove("1234567890123");
    await membership.remove("1234567890123");

    assert.equal((await membership.listMembers()).length, 1);
  });

  test("treats promoting a voter as done and promoting a missing member as MemberNotFoundError", async (t) => {
    const cluster = await startEtcdCluster(t, { size: 1 });
    const membership = membershipFor(t, cluster.clientUrls);
    const [voter] = await membership.listMembers();
    assert.ok(voter);

    await membership.promote(voter.id);
    await assert.rejects(membership.promote("1234567890123"), MemberNotFoundError);
    await assert.rejects(membership.remove("abc"), InvalidEtcdInputError);
    await assert.rejects(membership.addLearner("127.0.0.1:2380"), InvalidEtcdInputError);
  });
});
