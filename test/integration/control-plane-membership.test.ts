// Membership changes under AWS's real event semantics, on a real 3-member etcd cluster formed
// through the control plane: terminations (also two at once, and with the event lost), duplicated
// and reordered events, a reused IP, and a node that never boots.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { reconcile } from "../../lambdas/app/reconcile";
import type { Member } from "../../lambdas/domain/snapshot";
import { LAUNCH_HOOK, TERMINATE_HOOK } from "../helpers/control-plane";
import {
  bootNode,
  eventOf,
  eventually,
  formedCluster,
  fourthWithRoom,
  killMember,
  memberNames,
  newInstance,
  publishedConfig,
} from "../helpers/control-plane-flows";

describe("control plane: membership changes", () => {
  test("a terminate event removes the member and completes with CONTINUE; the replacement joins once despite a duplicated launch event", async (t) => {
    const { bed, ids } = await formedCluster(t);
    const victim = ids[2] as string;
    bed.group.terminateInstance(victim, false);
    const terminate = await eventOf(bed, "terminate", victim);
    bed.emulator.resetCallCounts();
    assert.equal((await bed.deliver("terminate", terminate)).status, "completed");
    // The group is read once, asked before the token read, and not again by the decisions.
    assert.deepEqual(bed.emulator.callCounts(), {
      DescribeAutoScalingGroups: 1,
      DescribeInstances: 1,
      CompleteLifecycleAction: 1,
    });
    await eventually("victim terminated", () => (bed.instanceIds().includes(victim) ? undefined : true));
    // The launch event below goes straight to the handler: let the others elect a leader if it led.
    await killMember(bed, ids, victim);
    assert.deepEqual(await memberNames(bed), ids.slice(0, 2).sort());
    assert.deepEqual(bed.endedActions(victim), [
      { hookName: LAUNCH_HOOK, result: "CONTINUE", by: "api" },
      { hookName: TERMINATE_HOOK, result: "CONTINUE", by: "api" },
    ]);
    // The removed node is not handed its old member configuration again.
    assert.equal((await bed.nodeApi("config", victim)).statusCode, 404);

    const replacement = await newInstance(bed, ids);
    const launch = await eventOf(bed, "launch", replacement);
    await Promise.all([bed.deliver("launch", launch), bed.deliver("launch", launch)]);
    await bed.deliver("launch", launch);
    const learners = (await bed.members()).filter((m) => m.isLearner);
    assert.ok(learners.length <= 1, `one learner at most: ${JSON.stringify(learners)}`);
    await bootNode(bed, replacement);
    const members = await bed.members();
    assert.equal(members.length, 3);
    assert.ok(members.every((m) => !m.isLearner));
    assert.deepEqual(await memberNames(bed), [...ids.slice(0, 2), replacement].sort());
    await eventually("replacement in service", () =>
      bed.instanceIds("InService").includes(replacement) ? true : undefined,
    );
  });

  test("terminating 2 of 3 at once removes one and holds the other, never below quorum", async (t) => {
    const { bed, ids } = await formedCluster(t);
    const [a, b] = ids as [string, string];
    bed.group.terminateInstance(a, true);
    bed.group.terminateInstance(b, true);
    const events = await eventually("2 terminate events", () =>
      bed.eventsFor("terminate").length === 2 ? bed.eventsFor("terminate") : undefined,
    );
    const results = await Promise.all(events.map((e) => bed.deliver("terminate", e)));
    assert.deepEqual(results.map((r) => r.status).sort(), ["completed", "held"]);
    const held = results.find((r) => r.status === "held");
    assert.match(held && "reason" in held ? held.reason : "", /termination held/);
    const members = await bed.members();
    assert.equal(members.length, 2);
    assert.ok(members.every((m) => m.healthy));
    assert.equal(bed.instanceIds("Terminating:Wait").length, 1);
  });

  test("a terminate event delivered before its launch event converges", async (t) => {
    const { bed, ids } = await formedCluster(t);
    bed.group.setDesiredCapacity(4);
    const extra = await newInstance(bed, ids);
    const launch = await eventOf(bed, "launch", extra);
    bed.group.terminateInstance(extra, true);
    const terminate = await eventOf(bed, "terminate", extra);
    assert.equal((await bed.deliver("terminate", terminate)).status, "completed");
    await eventually("extra terminated", () => (bed.instanceIds().includes(extra) ? undefined : true));
    const late = await bed.deliver("launch", launch);
    assert.equal(late.status, "ignored");
    assert.deepEqual(await memberNames(bed), [...ids].sort());
    const node = await bed.runtime.ledger.getNode(extra);
    assert.ok(node === undefined || node.phase === "removed", JSON.stringify(node));
  });

  test("a lost terminate event: the reconciler removes the member and completes the action", async (t) => {
    const { bed, ids } = await formedCluster(t);
    const victim = ids[0] as string;
    bed.group.terminateInstance(victim, true);
    await eventually("victim waiting", () =>
      bed.instanceIds("Terminating:Wait").includes(victim) ? true : undefined,
    );
    const report = await reconcile(bed.invocation());
    assert.equal(report.terminations, 1);
    await eventually("victim terminated", () => (bed.instanceIds().includes(victim) ? undefined : true));
    assert.deepEqual(await memberNames(bed), ids.slice(1).sort());
    assert.deepEqual(bed.endedActions(victim).at(-1), {
      hookName: TERMINATE_HOOK,
      result: "CONTINUE",
      by: "api",
    });
  });

  test("a reused IP: the stale member holding it is removed before the new instance joins", async (t) => {
    const { bed, ids } = await formedCluster(t);
    const victim = ids[2] as string;
    const victimIp = bed.group.instances().find((i) => i.id === victim)?.privateIp;
    // The victim dies and its terminate event is lost; the action ends without the control plane.
    bed.group.terminateInstance(victim, true);
    await eventually("victim waiting", () =>
      bed.instanceIds("Terminating:Wait").includes(victim) ? true : undefined,
    );
    await bed.killEtcd(victim);
    bed.group.completeLifecycleAction({ instanceId: victim, hookName: TERMINATE_HOOK, result: "CONTINUE" });
    await eventually("victim terminated", () => (bed.instanceIds().includes(victim) ? undefined : true));
    bed.group.setDesiredCapacity(3);
    const successor = await newInstance(bed, ids);
    assert.equal(bed.group.instances().find((i) => i.id === successor)?.privateIp, victimIp);

    const config = await publishedConfig(bed, successor);
    assert.equal(config.ETCD_ASG_DECISION, "learner");
    assert.ok(!(await memberNames(bed)).includes(victim), "the stale member is gone");
    await bootNode(bed, successor);
    assert.deepEqual(await memberNames(bed), [...ids.slice(0, 2), successor].sort());
  });

  test("launch before terminate: the replacement stands by out of the full cluster, then joins once its predecessor is removed", async (t) => {
    const { bed, ids } = await formedCluster(t);
    const old = ids[0] as string;
    bed.group.replaceInstance(old);
    const successor = await newInstance(bed, ids);
    const launch = await eventOf(bed, "launch", successor);
    assert.equal((await bed.deliver("launch", launch)).status, "completed");
    // In service, the group now terminates the instance it replaces: the next decision for the
    // successor may already replace the leaving member, or wait for the terminate event to.
    const first = await publishedConfig(bed, successor);
    assert.ok(["not-a-member", "learner"].includes(first.ETCD_ASG_DECISION ?? ""), JSON.stringify(first));
    const terminate = await eventOf(bed, "terminate", old);
    assert.equal((await bed.deliver("terminate", terminate)).status, "completed");
    await bed.killEtcd(old);
    const config = await bootNode(bed, successor);
    assert.equal(config.ETCD_ASG_DECISION, "learner");
    assert.deepEqual(await memberNames(bed), [...ids.slice(1), successor].sort());
  });

  test("a node that never boots: the reconciler removes its learner and completes its launch with ABANDON", async (t) => {
    const { bed, ids } = await formedCluster(t, { LEARNER_READY_TIMEOUT_SECONDS: "1" });
    const silent = await fourthWithRoom(bed, ids);
    const config = await publishedConfig(bed, silent);
    assert.equal(config.ETCD_ASG_DECISION, "learner");
    const silentPeer = `https://${bed.group.instances().find((i) => i.id === silent)?.privateIp}:2380`;
    const learnerOfSilent = (members: readonly Member[]) =>
      members.find((m) => m.peerUrls.includes(silentPeer));
    assert.equal(learnerOfSilent(await bed.members())?.isLearner, true, "its learner was added");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await reconcile(bed.invocation());
    const members = await bed.members();
    assert.equal(learnerOfSilent(members), undefined, JSON.stringify(members));
    assert.deepEqual(bed.endedActions(silent), [{ hookName: LAUNCH_HOOK, result: "ABANDON", by: "api" }]);
    assert.equal(bed.group.instances().find((i) => i.id === silent)?.lifecycleState, "Terminating:Wait");
  });
  test("a change is made on the reading it was decided on when its lock is the first taken since, and decided again when another actor's came between", async (t) => {
    const { bed, ids } = await formedCluster(t);
    const ledger = bed.runtime.ledger;
    let readings = 0;
    const loadState = ledger.loadState.bind(ledger);
    ledger.loadState = () => {
      readings++;
      return loadState();
    };
    let interleave = false;
    const acquireLock = ledger.acquireLock.bind(ledger);
    ledger.acquireLock = async (holder, ttlMs, now) => {
      if (interleave) {
        // Another actor takes the lock and lets it go between this actor's reading and its acquisition.
        interleave = false;
        const other = await acquireLock("another-actor", ttlMs, now);
        await ledger.releaseLock(other.holder, other.version);
      }
      return acquireLock(holder, ttlMs, now);
    };
    // The ledger readings made before each membership change etcd was asked for (refused or not).
    const asked: { change: string; readings: number }[] = [];
    const runtime = bed.runtime as { etcd: typeof bed.runtime.etcd };
    const etcd = runtime.etcd;
    runtime.etcd = (endpoints, leader) => {
      const membership = etcd(endpoints, leader);
      const [addLearner, remove] = [
        membership.addLearner.bind(membership),
        membership.remove.bind(membership),
      ];
      membership.addLearner = (peerUrl) => {
        asked.push({ change: "add", readings });
        return addLearner(peerUrl);
      };
      membership.remove = (id) => {
        asked.push({ change: "remove", readings });
        return remove(id);
      };
      return membership;
    };

    const victim = ids[2] as string;
    bed.group.terminateInstance(victim, false);
    const terminate = await eventOf(bed, "terminate", victim);
    await killMember(bed, ids, victim);
    readings = 0;
    assert.equal((await bed.deliver("terminate", terminate)).status, "completed");
    // Removed on the reading it was decided on.
    assert.deepEqual(asked[0], { change: "remove", readings: 1 });

    const replacement = await newInstance(bed, ids);
    const launch = await eventOf(bed, "launch", replacement);
    readings = 0;
    asked.length = 0;
    interleave = true;
    await bed.deliver("launch", launch);
    // Added after the reading it was decided on and the decision again under the lock.
    assert.deepEqual(asked[0], { change: "add", readings: 2 });
    assert.equal((await bed.members()).filter((m) => m.isLearner).length, 1);
  });
});
