// The etcd adapter against real etcd 3.4 clusters: reading members and health, the learner lifecycle
// (add, start, promote, remove) and replacing a member whose process was killed.
import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import { Etcd3 } from "etcd3";
import { EtcdMembership } from "../../lambdas/adapters/etcd";
import { membershipFor, TEST_STATUS_TIMEOUT_MS } from "../helpers/etcd/adapter";
import { startEtcdCluster } from "../helpers/etcd/cluster";
import {
  addLearnerWhenAllowed,
  joinAsLearner,
  promoteWhenReady,
  removeWhenAllowed,
  startLearner,
} from "../helpers/etcd/steps";

function kvClient(t: TestContext, endpoint: string): Etcd3 {
  const client = new Etcd3({ hosts: endpoint });
  t.after(() => client.close());
  return client;
}

async function memberIdOf(membership: EtcdMembership, name: string): Promise<string> {
  const member = (await membership.listMembers()).find((m) => m.name === name);
  assert.ok(member, `member ${name} is in the list`);
  return member.id;
}

describe("etcd membership on a real cluster", { concurrency: true }, () => {
  test("reads every member of a new cluster as a started, healthy voter with a decimal ID", async (t) => {
    const cluster = await startEtcdCluster(t, { size: 3 });
    const members = await membershipFor(t, cluster.clientUrls).readMembers();

    assert.deepEqual(members.map((m) => m.name).sort(), cluster.members.map((m) => m.name).sort());
    for (const member of members) {
      const expected = cluster.member(member.name);
      assert.match(member.id, /^[1-9][0-9]*$/);
      assert.deepEqual(member.peerUrls, [expected.peerUrl]);
      assert.deepEqual(member.clientUrls, [expected.clientUrl]);
      assert.equal(member.isLearner, false);
      assert.equal(member.started, true);
      assert.equal(member.healthy, true);
    }
  });

  test("reports one leader in the per-endpoint status and marks a paused member unhealthy within the timeout", async (t) => {
    const cluster = await startEtcdCluster(t, { size: 3 });
    // A call timeout far above the status timeout, so the bound below tells the two apart with room
    // for a loaded two-core machine.
    const membership = new EtcdMembership({
      endpoints: cluster.clientUrls,
      statusTimeoutMs: TEST_STATUS_TIMEOUT_MS,
      callTimeoutMs: 4 * TEST_STATUS_TIMEOUT_MS,
    });
    t.after(() => membership.close());
    const probes = await membership.probe(cluster.clientUrls);
    assert.equal(probes.filter((p) => p.answered).length, 3);
    const leaders = new Set(probes.flatMap((p) => (p.answered ? [p.status.leaderId] : [])));
    assert.equal(leaders.size, 1);
    assert.ok(probes.some((p) => p.answered && p.status.memberId === [...leaders][0]));

    const paused = cluster.members[2];
    assert.ok(paused);
    await cluster.pause(paused.name);
    const started = Date.now();
    const members = await membership.readMembers();
    const elapsed = Date.now() - started;

    // One round of status calls bounded by the status timeout, then a member list to a live voter.
    assert.ok(elapsed < 2 * TEST_STATUS_TIMEOUT_MS, `readMembers took ${elapsed} ms with a paused member`);
    assert.deepEqual(
      members.filter((m) => !m.healthy).map((m) => m.name),
      [paused.name],
    );
    assert.equal(members.find((m) => m.name === paused.name)?.started, true);
  });

  test("adds a learner, starts it, promotes it once in sync and removes it, knowing only a follower's URL", async (t) => {
    const cluster = await startEtcdCluster(t, { size: 3 });
    const follower = (await membershipFor(t, cluster.clientUrls).probe(cluster.clientUrls)).find(
      (p) => p.answered && p.status.memberId !== p.status.leaderId,
    );
    assert.ok(follower);
    // Changes go to the leader, which the adapter finds through the follower's member list.
    const membership = membershipFor(t, [follower.endpoint]);
    const spare = await cluster.reserveMember();

    const added = await addLearnerWhenAllowed(membership, spare.peerUrl);
    assert.equal(added.isLearner, true);
    assert.equal(added.name, "");
    const unstarted = (await membership.readMembers()).find((m) => m.id === added.id);
    assert.deepEqual(unstarted && { started: unstarted.started, healthy: unstarted.healthy }, {
      started: false,
      healthy: false,
    });

    const id = added.id;
    const member = await startLearner(cluster, membership, spare.name, id);
    const learnerStatus = await membership.endpointStatus(member.clientUrl);
    assert.equal(learnerStatus.isLearner, true);
    assert.equal(learnerStatus.memberId, id);

    await promoteWhenReady(membership, id);
    const promoted = (await membership.readMembers()).find((m) => m.id === id);
    assert.deepEqual(promoted && [promoted.name, promoted.isLearner, promoted.started, promoted.healthy], [
      member.name,
      false,
      true,
      true,
    ]);

    await membership.remove(id);
    assert.deepEqual(
      (await membership.listMembers()).map((m) => m.id).filter((memberId) => memberId === id),
      [],
    );
  });

  test("makes its changes at the leader a reading named, and at the leader it finds when that one does not answer", async (t) => {
    const cluster = await startEtcdCluster(t, { size: 3 });
    const leader = (await membershipFor(t, cluster.clientUrls).probe(cluster.clientUrls)).find(
      (p) => p.answered && p.status.memberId === p.status.leaderId,
    );
    assert.ok(leader);
    const spare = await cluster.reserveMember();
    const nobody = (await cluster.reserveMember()).clientUrl; // reserved, never started: refuses

    // Named leader gone (a reading's leader that died since): the add falls back to probing.
    const probing = new EtcdMembership({ endpoints: cluster.clientUrls, leader: nobody });
    t.after(() => probing.close());
    const added = await addLearnerWhenAllowed(probing, spare.peerUrl);
    assert.equal(added.isLearner, true);

    // Named leader only: no endpoint it could probe answers, so the change can only have gone there.
    const named = new EtcdMembership({ endpoints: [nobody], leader: leader.endpoint });
    t.after(() => named.close());
    await removeWhenAllowed(named, added.id);
    assert.deepEqual(
      (await probing.listMembers()).filter((m) => m.id === added.id),
      [],
    );
    // Without the named leader, the same endpoints reach none.
    const unnamed = new EtcdMembership({ endpoints: [nobody] });
    t.after(() => unnamed.close());
    await assert.rejects(unnamed.remove(added.id), (error: Error) => error.name === "NoLeaderError");
  });

  test("replaces a kill -9'd member of three without losing a key written before", async (t) => {
    const cluster = await startEtcdCluster(t, { size: 3 });
    const writer = kvClient(t, cluster.clientUrls[0] ?? "");
    for (let i = 0; i < 20; i++) await writer.put(`key-${i}`).value(`value-${i}`);

    const victim = cluster.members[1];
    assert.ok(victim);
    const membership = membershipFor(t, cluster.clientUrls);
    const victimId = await memberIdOf(membership, victim.name);
    await cluster.kill(victim.name);

    const dead = (await membership.readMembers()).filter((m) => !m.healthy);
    assert.deepEqual(
      dead.map((m) => m.id),
      [victimId],
    );
    await removeWhenAllowed(membership, victimId);
    const { member, id } = await joinAsLearner(cluster, membership);
    await promoteWhenReady(membership, id);

    const members = await membership.readMembers();
    assert.deepEqual(
      members.map((m) => m.name).sort(),
      cluster.members
        .filter((m) => m.name !== victim.name)
        .map((m) => m.name)
        .sort(),
    );
    assert.ok(members.every((m) => !m.isLearner && m.healthy));
    const reader = kvClient(t, member.clientUrl);
    const keys = await reader.getAll().prefix("key-").strings();
    assert.equal(Object.keys(keys).length, 20);
    assert.equal(keys["key-19"], "value-19");
  });
});
