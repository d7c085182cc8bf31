// etcd's refusals of unsafe membership changes, as the etcd adapter reports them: typed errors, each
// tagged retryable or not, and no change to the member list.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  LearnerNotReadyError,
  NoLeaderError,
  TooManyLearnersError,
  UnhealthyClusterError,
} from "../../lambdas/adapters/etcd";
import { membershipFor } from "../helpers/etcd/adapter";
import { startEtcdCluster } from "../helpers/etcd/cluster";
import { addLearnerWhenAllowed } from "../helpers/etcd/steps";

/** etcd only adds a member once every voter has been connected for this long (etcdserver.HealthInterval). */
const HEALTH_INTERVAL_MS = 5000;

describe("etcd refusals on a real cluster", { concurrency: true }, () => {
  test("reports an add while a voter is down as a retryable UnhealthyClusterError", async (t) => {
    const cluster = await startEtcdCluster(t, { size: 3 });
    // Past the window in which a fresh cluster is unhealthy anyway, so the refusal is the dead voter's.
    await sleep(HEALTH_INTERVAL_MS + 500);
    const membership = membershipFor(t, cluster.clientUrls);
    // A follower: with the leader gone the adapter would report the election, not etcd's refusal.
    const follower = (await membership.probe(cluster.clientUrls)).find(
      (p) => p.answered && p.status.memberId !== p.status.leaderId,
    );
    const victim = cluster.members.find((m) => m.clientUrl === follower?.endpoint);
    assert.ok(victim);
    await cluster.kill(victim.name);
    const spare = await cluster.reserveMember();

    await assert.rejects(membership.addLearner(spare.peerUrl), (error: unknown) => {
      assert.ok(error instanceof UnhealthyClusterError, String(error));
      assert.equal(error.retryable, true);
      assert.match(error.message, /unhealthy cluster/);
      return true;
    });
    assert.equal((await membership.listMembers()).length, 3);
  });

  test("reports a change while no member knows a leader as a retryable NoLeaderError, sending nothing", async (t) => {
    const cluster = await startEtcdCluster(t, { size: 3 });
    const membership = membershipFor(t, cluster.clientUrls);
    const [survivor, ...others] = cluster.members;
    assert.ok(survivor);
    for (const member of others) await cluster.kill(member.name);
    // The survivor loses its leader once its election timeout passes without a quorum.
    let status = await membership.endpointStatus(survivor.clientUrl);
    for (let tries = 0; status.leaderId !== "0" && tries < 50; tries++) {
      await sleep(200);
      status = await membership.endpointStatus(survivor.clientUrl);
    }
    assert.equal(status.leaderId, "0", "the survivor knows no leader");
    const spare = await cluster.reserveMember();

    await assert.rejects(membership.addLearner(spare.peerUrl), (error: unknown) => {
      assert.ok(error instanceof NoLeaderError, String(error));
      assert.equal(error.retryable, true);
      assert.match(error.message, /no leader among .*an election may be under way/);
      return true;
    });
    assert.equal((await membership.listMembers()).length, 3);
  });

  test("refuses a second learner with a TooManyLearnersError that is not retryable", async (t) => {
    const cluster = await startEtcdCluster(t, { size: 3 });
    const membership = membershipFor(t, cluster.clientUrls);
    const first = await cluster.reserveMember();
    const second = await cluster.reserveMember();
    await addLearnerWhenAllowed(membership, first.peerUrl);

    await assert.rejects(membership.addLearner(second.peerUrl), (error: unknown) => {
      assert.ok(error instanceof TooManyLearnersError, String(error));
      assert.equal(error.retryable, false);
      return true;
    });
    const learners = (await membership.listMembers()).filter((m) => m.isLearner);
    assert.deepEqual(
      learners.map((m) => m.peerUrls),
      [[first.peerUrl]],
    );
  });

  test("raises a retryable LearnerNotReadyError when promoting a learner that has not caught up", async (t) => {
    const cluster = await startEtcdCluster(t, { size: 3 });
    const membership = membershipFor(t, cluster.clientUrls);
    const spare = await cluster.reserveMember();
    // Never started, so it has none of the leader's log.
    const learner = await addLearnerWhenAllowed(membership, spare.peerUrl);

    await assert.rejects(membership.promote(learner.id), (error: unknown) => {
      assert.ok(error instanceof LearnerNotReadyError, String(error));
      assert.equal(error.retryable, true);
      return true;
    });
    const after = (await membership.listMembers()).find((m) => m.id === learner.id);
    assert.equal(after?.isLearner, true);
  });
});
