// Recovery's control-plane half on a 3-member mutual-TLS etcd 3.4 formed through the control plane,
// with s3rver as the bucket and a 1 s loss threshold: 2 of 3 instances destroyed for good, the
// survivor (of the old generation) is replaced through the group, and once 3 new instances are
// registered generation 2 opens with a new token over the newest snapshot, on the new instances
// only, and the node API hands each of them its restore (a presigned GET that downloads the
// snapshot, its SHA-256 and the command); when every one of them is gone before generation 2 formed,
// generation 3 opens from the same snapshot on their replacements. A reconcile pass runs the step and reports it, also when it
// fails. Manual mode raises the alarm and waits until an operator's restore request names the
// generation.
import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import { reconcile } from "../../lambdas/app/reconcile";
import { recoverQuorum } from "../../lambdas/app/recovery";
import { METRICS } from "../../lambdas/app/signals";
import { copySurvivor, takeSnapshotIfDue } from "../../lambdas/app/snapshots";
import { ConfigError } from "../../lambdas/config";
import { restoreSourceOf } from "../../lambdas/domain/durability";
import { handleNodeApi } from "../../lambdas/node-api/respond";
import {
  type ControlPlaneBed,
  emittedMetrics,
  LAUNCH_HOOK,
  parseEnv,
  TERMINATE_HOOK,
} from "../helpers/control-plane";
import { useControlPlaneBucket } from "../helpers/control-plane-bucket";
import { deliverLaunches, eventually, formedCluster } from "../helpers/control-plane-flows";

/** Destroys `ids` for good: etcd killed, instance terminated (the group launches a replacement). */
async function destroy(bed: ControlPlaneBed, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    await bed.killEtcd(id);
    if (bed.instanceIds().includes(id) && !bed.instanceIds("Terminating:Wait").includes(id)) {
      bed.group.terminateInstance(id, false);
    }
    bed.group.completeLifecycleAction({ instanceId: id, hookName: TERMINATE_HOOK, result: "CONTINUE" });
  }
}

/** A config request of `instanceId`'s own, as its boot script sends it (etcd 3.4.23), with the bucket. */
function configRequest(bed: ControlPlaneBed, instanceId: string, format: string) {
  return handleNodeApi(
    bed.runtime,
    {
      rawPath: `/v1/nodes/${instanceId}/config`,
      queryStringParameters: { etcd: "3.4.23", format },
      requestContext: {
        http: { method: "GET" },
        authorizer: { iam: { userArn: `arn:aws:sts::123456789012:assumed-role/etcd-node/${instanceId}` } },
      },
    },
    { awsRequestId: randomUUID() },
    bed.durability().store,
  );
}

describe("recovery from a lost quorum", () => {
  const bucket = useControlPlaneBucket("etcd-asg-recovery");
  const env = (mode: string) => ({
    ...bucket(),
    QUORUM_LOSS_THRESHOLD_SECONDS: "1",
    DISASTER_RECOVERY: mode,
  });

  /** A snapshot, then `after` acknowledged writes, then 2 of 3 destroyed; the last write's revision. */
  async function lostTwo(t: Parameters<typeof formedCluster>[0], mode: string, after = 0) {
    const { bed, ids } = await formedCluster(t, env(mode));
    await bed.etcdctl("put", "/recovery/a", "1");
    const taken = await takeSnapshotIfDue(
      bed.invocation(),
      bed.durability(),
      "on-demand",
      Date.now() + 60_000,
    );
    assert.equal(taken.outcome, "taken", JSON.stringify(taken));
    if (taken.outcome !== "taken") throw new Error("no snapshot");
    let lastRevision = taken.snapshot.revision;
    for (let i = 0; i < after; i += 1) {
      const put = JSON.parse(await bed.etcdctl("put", `/recovery/after-${i}`, "1", "-w", "json"));
      lastRevision = Number(put.header.revision);
    }
    const survivor = ids[2] as string;
    await destroy(bed, ids.slice(0, 2));
    return { bed, ids, survivor, snapshot: taken.snapshot, lastRevision };
  }

  test("automatic: the survivor is replaced, then generation 2 opens over the newest snapshot on new instances; gone before it formed, it is reopened as generation 3", async (t) => {
    const { bed, ids, survivor, snapshot } = await lostTwo(t, "automatic");
    const before = (await bed.runtime.ledger.loadState()).cluster;

    const [replacing, emitted] = await emittedMetrics(() =>
      eventually("quorum lost for good", async () => {
        const step = await recoverQuorum(bed.invocation(), bed.durability());
        return step.plan === "none" ? undefined : step;
      }),
    );
    assert.equal(replacing.plan, "replace-old-nodes", replacing.reason);
    assert.match(replacing.reason, new RegExp(survivor));
    assert.ok(emitted.some((m) => m.name === METRICS.quorumLost));
    await eventually("the survivor leaving", () =>
      bed.instanceIds("Terminating:Wait").includes(survivor) ? true : undefined,
    );
    await destroy(bed, [survivor]);

    await eventually("3 new instances", () =>
      bed.instanceIds().filter((id) => !ids.includes(id)).length >= 3 ? true : undefined,
    );
    await deliverLaunches(bed);
    const opened = await eventually("generation 2", async () => {
      const step = await recoverQuorum(bed.invocation(), bed.durability());
      return step.plan === "open-generation" ? step : undefined;
    });
    assert.equal(opened.generation, 2);
    const cluster = (await bed.runtime.ledger.loadState()).cluster;
    assert.notEqual(cluster?.token, before?.token);
    assert.deepEqual(cluster?.restoreSource, restoreSourceOf(snapshot));
    assert.equal(cluster?.state, "forming");
    for (const member of cluster?.initialMembers ?? []) assert.ok(!ids.includes(member.instanceId));
    assert.equal(cluster?.initialMembers.length, 3);

    // The next step over generation 2 does not open another.
    assert.notEqual((await recoverQuorum(bed.invocation(), bed.durability())).plan, "open-generation");

    // Each node of the new generation is told to restore the snapshot, through a presigned GET.
    const first = cluster?.initialMembers[0]?.instanceId ?? "";
    const answer = await configRequest(bed, first, "env");
    assert.equal(answer.statusCode, 200, answer.body);
    const env = parseEnv(answer.body);
    assert.equal(env.ETCD_INITIAL_CLUSTER_STATE, "new");
    assert.equal(env.ETCD_INITIAL_CLUSTER_TOKEN, cluster?.token);
    assert.equal(env.ETCD_ASG_RESTORE_SHA256, snapshot.sha256);
    assert.equal(env.ETCD_ASG_RESTORE_SIZE, String(snapshot.size));
    assert.match(env.ETCD_ASG_RESTORE_URL ?? "", /X-Amz-Expires=900/);
    assert.match(
      env.ETCD_ASG_RESTORE_COMMAND ?? "",
      new RegExp(`^etcdctl snapshot restore \\{snapshot\\} --name=${first} .*--data-dir=\\{data-dir\\}$`),
    );
    const download = Buffer.from(await (await fetch(env.ETCD_ASG_RESTORE_URL ?? "")).arrayBuffer());
    assert.equal(
      createHash("sha256").update(download).digest("hex"),
      snapshot.sha256,
      "the URL downloads the snapshot",
    );
    // Flags alone would start an empty cluster: refused for a restoring node.
    const flags = await configRequest(bed, first, "flags");
    assert.equal(flags.statusCode, 400);
    assert.match(flags.body, /restores a snapshot before etcd's first start/);

    // Chaos seed 12002: every initial member of generation 2 is gone before it formed (their restores
    // failed, the launches were abandoned). No one else may form it, so recovery reopens it as
    // generation 3 from the same snapshot on the instances that replaced them.
    const gone = (cluster?.initialMembers ?? []).map((m) => m.instanceId);
    for (const id of gone) {
      bed.group.completeLifecycleAction({ instanceId: id, hookName: LAUNCH_HOOK, result: "ABANDON" });
    }
    await destroy(bed, gone);
    const earlier = [...ids, ...gone];
    await eventually("launch events of 3 more new instances", () => {
      const fresh = bed.instanceIds().filter((id) => !earlier.includes(id));
      return fresh.filter((id) => bed.eventsFor("launch", id).length > 0).length >= 3 ? true : undefined;
    });
    await deliverLaunches(bed);
    const reopened = await eventually("generation 3", async () => {
      const step = await recoverQuorum(bed.invocation(), bed.durability());
      return step.plan === "open-generation" ? step : undefined;
    });
    assert.equal(reopened.generation, 3, reopened.reason);
    assert.match(reopened.reason, /generation 2 never formed/);
    const third = (await bed.runtime.ledger.loadState()).cluster;
    assert.notEqual(third?.token, cluster?.token);
    assert.deepEqual(third?.restoreSource, restoreSourceOf(snapshot));
    assert.equal(third?.state, "forming");
    assert.equal(third?.initialMembers.length, 3);
    for (const member of third?.initialMembers ?? []) assert.ok(!earlier.includes(member.instanceId));
  });

  test("on a healthy cluster the stack's pass reads the group once: its recovery step and first snapshot share the reading", async (t) => {
    const { bed } = await formedCluster(t, env("automatic"));
    bed.emulator.resetCallCounts();
    const report = await reconcile(bed.invocation(), undefined, bed.durability());
    assert.equal(report.recovery?.plan, "none", report.recovery?.reason);
    assert.equal(bed.emulator.callCounts().DescribeAutoScalingGroups, 1);
  });

  test("a reconcile pass runs the recovery step and reports it; a step that fails is reported, the pass goes on", async (t) => {
    const { bed } = await lostTwo(t, "automatic", 5);
    // The survivor holds newer data: the step asks for its copy, which this bed cannot invoke.
    const pass = await eventually("a recovery step", async () => {
      const report = await reconcile(bed.invocation(), undefined, bed.durability());
      return report.recovery?.plan === "none" ? undefined : report;
    });
    assert.equal(pass.recovery?.plan, "failed");
    assert.match(pass.recovery?.reason ?? "", /SNAPSHOT_FUNCTION_NAME/);
    assert.ok(pass.membership.length > 0, "the rest of the pass ran");
    assert.equal((await reconcile(bed.invocation())).recovery, undefined, "no durability port, no step");
  });

  test("a survivor holding writes after the newest snapshot is copied into S3 first; nothing it held is lost", async (t) => {
    const { bed, survivor, snapshot, lastRevision } = await lostTwo(t, "automatic", 5);
    assert.ok(lastRevision > (snapshot.maxRevision ?? snapshot.revision));
    // The step asks the snapshot function for the copy; this bed has none, and says so by name.
    await eventually("the copy asked for", async () => {
      const error = await recoverQuorum(bed.invocation(), bed.durability()).then(
        () => undefined,
        (e: Error) => e,
      );
      return error instanceof ConfigError && /SNAPSHOT_FUNCTION_NAME/.test(error.message) ? true : undefined;
    });
    // What the snapshot function runs for it: a stream from the survivor, which has no quorum.
    // A member ID is a uint64: read as text, not through JSON's doubles.
    const status = await bed.etcdctl("endpoint", "status", "-w", "json");
    const memberId = /"member_id":(\d+)/.exec(status)?.[1] ?? "";
    const copy = await copySurvivor(
      bed.invocation(),
      bed.durability(),
      { instanceId: survivor, memberId, revision: lastRevision },
      Date.now() + 60_000,
    );
    assert.equal(copy.outcome, "taken", copy.reason);
    if (copy.outcome !== "taken") return;
    assert.ok(copy.snapshot.revision >= lastRevision, "the copy holds every write the survivor acknowledged");
    assert.equal(copy.snapshot.member.instanceId, survivor);
    // The copy is now the newest data: the step goes on to replace the old generation.
    assert.equal((await recoverQuorum(bed.invocation(), bed.durability())).plan, "replace-old-nodes");
  });

  test("manual: the alarm is raised and nothing moves until an operator's restore names the generation", async (t) => {
    const { bed, snapshot } = await lostTwo(t, "manual");
    const [alarm, emitted] = await emittedMetrics(() =>
      eventually("quorum lost for good", async () => {
        const step = await recoverQuorum(bed.invocation(), bed.durability());
        return step.plan === "none" ? undefined : step;
      }),
    );
    assert.equal(alarm.plan, "alarm", alarm.reason);
    assert.match(alarm.reason, /restore command/);
    assert.ok(emitted.some((m) => m.name === METRICS.recoveryNeedsOperator));
    assert.equal((await bed.runtime.ledger.loadState()).cluster?.generation, 1);

    // A request for another generation means nothing; one for this generation is carried out.
    const durability = bed.durability();
    await durability.ledger.requestRestore({
      generation: 7,
      source: restoreSourceOf(snapshot),
      requestedAt: Date.now(),
    });
    assert.equal((await recoverQuorum(bed.invocation(), bed.durability())).plan, "alarm");
    await durability.ledger.requestRestore({
      generation: 1,
      source: restoreSourceOf(snapshot),
      requestedAt: Date.now(),
    });
    assert.equal((await recoverQuorum(bed.invocation(), bed.durability())).plan, "replace-old-nodes");
  });
});
