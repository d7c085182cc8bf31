// etcd upkeep on a real etcd 3.4 cluster with mutual TLS: the maintenance adapter (status with db
// sizes, alarms, compaction, defragmentation, disarm) driven by the upkeep decision through the
// control plane's run (app/etcd-upkeep.ts). A member is filled to a small quota until NOSPACE is raised and writes are
// refused; deleting, compacting, defragmenting and disarming make writes pass again. Scheduled
// defragmentation goes one member at a time with the leader last, which etcd's own logs confirm.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { noop } from "cockatiel";
import { Etcd3 } from "etcd3";
import {
  DatabaseSpaceExceededError,
  EtcdMaintenance,
  EtcdMembership,
  FutureRevisionError,
} from "../../lambdas/adapters/etcd";
import type { TlsIdentitySource } from "../../lambdas/adapters/etcd/endpoint";
import { translateEtcdError } from "../../lambdas/adapters/etcd/translate";
import { runEtcdUpkeep } from "../../lambdas/app/etcd-upkeep";
import { etcdStorageSettings, etcdStorageVariables, MIB } from "../../lambdas/domain/etcd-storage";
import {
  DEFAULT_UPKEEP_POLICY,
  decideUpkeep,
  NEW_RUN,
  type UpkeepInput,
  type UpkeepPolicy,
  type UpkeepStep,
} from "../../lambdas/domain/etcd-upkeep";
import type { CertificateAuthority } from "../../lambdas/pki/certificate-authority";
import { TlsEtcdCluster } from "../helpers/etcd/tls-cluster";
import { type Credentials, issueTo, newCertificateAuthority, useLocalKms } from "../helpers/pki";
import { memoryUpkeepProgress } from "../helpers/upkeep";

/** Small enough to fill in a few seconds: 8 MiB. */
const QUOTA = 8 * MIB;
const VALUE = Buffer.alloc(256 * 1024, "x");
const STATUS_TIMEOUT_MS = 2000;

/** A zap timestamp (`2026-01-02T03:04:05.678+0000`) in epoch milliseconds. */
function logTime(ts: string): number {
  const parsed = Date.parse(ts.replace(/([+-]\d\d)(\d\d)$/, "$1:$2"));
  assert.ok(Number.isFinite(parsed), `unreadable log time ${ts}`);
  return parsed;
}

/** What a control-plane run of upkeep did, step by step. */
interface Applied {
  readonly step: UpkeepStep;
  /** The member's name (instance ID) for a defragmentation. */
  readonly name?: string;
}

describe("etcd upkeep on etcd 3.4 with mutual TLS", () => {
  const kms = useLocalKms();
  let clientCa: CertificateAuthority;
  let root: Credentials;
  let cluster: TlsEtcdCluster;
  let client: Etcd3;
  let maintenance: EtcdMaintenance;
  let membership: EtcdMembership;

  before(async () => {
    const peerCa = await newCertificateAuthority(kms, "peer");
    clientCa = await newCertificateAuthority(kms, "client");
    root = await issueTo(clientCa, { kind: "control-plane" });
    const compaction = etcdStorageVariables(etcdStorageSettings(20)).filter(([name]) =>
      name.startsWith("ETCD_AUTO_COMPACTION"),
    );
    cluster = await TlsEtcdCluster.start({
      size: 3,
      peerCa,
      clientCa,
      healthCheckIdentity: root,
      extraFlags: [
        `--quota-backend-bytes=${QUOTA}`,
        // The settings the node API will publish, as flags: etcd 3.4 must take them.
        ...compaction.map(
          ([name, value]) => `--${name.slice(5).toLowerCase().replaceAll("_", "-")}=${value}`,
        ),
      ],
    });
    const tls: TlsIdentitySource = async () => ({
      caPem: clientCa.pem,
      certificatePem: root.certificatePem,
      privateKeyPem: root.privateKeyPem,
    });
    maintenance = new EtcdMaintenance({
      endpoints: cluster.clientUrls,
      statusTimeoutMs: STATUS_TIMEOUT_MS,
      tls,
    });
    membership = new EtcdMembership({
      endpoints: cluster.clientUrls,
      statusTimeoutMs: STATUS_TIMEOUT_MS,
      tls,
    });
    client = new Etcd3({
      hosts: cluster.clientUrls,
      credentials: {
        rootCertificate: Buffer.from(clientCa.pem),
        certChain: Buffer.from(root.certificatePem),
        privateKey: Buffer.from(root.privateKeyPem),
      },
      defaultCallOptions: () => ({ deadline: Date.now() + 5000 }),
      faultHandling: { host: () => noop, global: noop },
    });
  });

  after(async () => {
    client?.close();
    maintenance?.close();
    membership?.close();
    await cluster?.stop();
  });

  /** One upkeep input as the control plane reads it: members, statuses, alarms. */
  async function read(trigger: UpkeepInput["trigger"], policy: UpkeepPolicy): Promise<UpkeepInput> {
    const [members, probes, alarms] = await Promise.all([
      membership.readMembers(),
      maintenance.probe(cluster.clientUrls),
      maintenance.alarms(),
    ]);
    const storage = probes.flatMap((p) => (p.answered ? [p.status] : []));
    return { trigger, policy, members, storage, alarms, lockHeld: false, run: NEW_RUN };
  }

  /**
   * The control plane's upkeep run (app/etcd-upkeep.ts) over the real adapters, again while it ends
   * on a hold (etcd updates a size in use at its next commit), within `timeoutMs`. Returns the steps
   * applied with the name (instance ID) of each defragmented member.
   */
  async function runUpkeep(trigger: UpkeepInput["trigger"], policy: UpkeepPolicy, timeoutMs = 30_000) {
    const applied: Applied[] = [];
    const deadline = Date.now() + timeoutMs;
    // The ledger's upkeep item, kept across runs as the reconciler's passes keep it.
    const progress = memoryUpkeepProgress();
    for (;;) {
      const members = await membership.readMembers();
      const outcome = await runEtcdUpkeep(
        {
          progress,
          actor: "test",
          maintenance,
          readMembers: () => membership.readMembers(),
          lockHeld: async () => false,
          signals: { alarms: () => undefined, applied: () => undefined, held: () => undefined },
          log: () => undefined,
          now: () => Date.now(),
        },
        { trigger, policy, deadline, leaseTtlMs: 180_000 },
      );
      for (const step of outcome.applied) {
        const name =
          step.kind === "defragment" ? members.find((m) => m.id === step.memberId)?.name : undefined;
        applied.push(name === undefined ? { step } : { step, name });
      }
      if (outcome.last.step.kind !== "hold") return applied;
      if (Date.now() > deadline) throw new Error(`upkeep still held: ${outcome.last.step.reason}`);
      await sleep(250);
    }
  }

  test("reports each member's db size, size in use and revision", async () => {
    const probes = await maintenance.probe();
    assert.equal(probes.length, 3);
    for (const probe of probes) {
      assert.ok(probe.answered);
      if (!probe.answered) continue;
      assert.ok(probe.status.dbSize > 0);
      assert.ok(probe.status.dbSizeInUse > 0 && probe.status.dbSizeInUse <= probe.status.dbSize);
      assert.ok(probe.status.revision >= 1);
      assert.notEqual(probe.status.leaderId, "0");
    }
    assert.deepEqual(await maintenance.alarms(), []);
  });

  test("a member filled to its quota raises NOSPACE and refuses writes; delete, compact, defragment and disarm make room", async () => {
    const policy: UpkeepPolicy = { ...DEFAULT_UPKEEP_POLICY, quotaBackendBytes: QUOTA };
    let refusal: unknown;
    for (let i = 0; i < 200 && refusal === undefined; i++) {
      await client
        .put("upkeep/filler")
        .value(VALUE)
        .catch((error: unknown) => {
          refusal = error;
        });
    }
    assert.ok(refusal !== undefined, "the quota was never reached");
    assert.ok(translateEtcdError(refusal, "put", "test") instanceof DatabaseSpaceExceededError);

    const alarms = await maintenance.alarms();
    assert.ok(alarms.length >= 1 && alarms.every((a) => a.alarm === "NOSPACE"), JSON.stringify(alarms));
    await assert.rejects(async () => client.put("upkeep/other").value("small"), /database space exceeded/);
    // Each member that refused a put raised its own NOSPACE; the decision counts the members.
    const input = await read("reconcile", policy);
    const raised = decideUpkeep(input);
    assert.ok(raised.alarmCounts.nospace >= 1);
    assert.equal(raised.alarmCounts.nospace, new Set(input.alarms?.map((a) => a.memberId)).size);

    // Deletes pass under NOSPACE; the history they leave behind is what compaction frees.
    await client.delete().key("upkeep/filler");
    const applied = await runUpkeep("reconcile", policy);
    const kinds = applied.map((a) => a.step.kind);
    assert.deepEqual(kinds, ["compact", "defragment", "defragment", "defragment", "disarm"]);
    const defrags = applied.flatMap((a) => (a.step.kind === "defragment" ? [a.step] : []));
    assert.deepEqual(
      defrags.map((d) => d.leader),
      [false, false, true],
      "the leader is defragmented last",
    );
    assert.equal(new Set(defrags.map((d) => d.memberId)).size, 3);

    assert.deepEqual(await maintenance.alarms(), []);
    await client.put("upkeep/after").value("accepted");
    assert.equal(await client.get("upkeep/after").string(), "accepted");
    for (const probe of await maintenance.probe()) {
      assert.ok(probe.answered && probe.status.dbSize < (QUOTA / 100) * 80);
    }
  });

  test("compaction is idempotent and refuses a revision the store has not reached", async () => {
    // The put's own revision: a lagging member's status could name one already compacted.
    const put = await client.put("upkeep/compact").value("1");
    const revision = Number(put.header.revision);
    assert.equal(await maintenance.compact(revision), "compacted");
    assert.equal(await maintenance.compact(revision), "already-compacted");
    await assert.rejects(maintenance.compact(revision + 1_000_000), FutureRevisionError);
  });

  test("scheduled defragmentation goes one member at a time, the leader last, as etcd's logs show", async () => {
    // Fragment every member: write about 3 MiB, delete it, compact the history away.
    for (let i = 0; i < 12; i++) await client.put(`upkeep/fragment/${i}`).value(VALUE);
    // Compact at the delete's own revision, as the leader committed it: the status of a follower
    // still applying the delete would name an earlier revision, and compacting there frees nothing.
    const deleted = await client.delete().prefix("upkeep/fragment/");
    await maintenance.compact(Number(deleted.header.revision));
    // etcd counts the pages a compaction freed only from a later commit on: the writes that go on in
    // a live cluster. Write until every member shows the space as free.
    // 30 s: one idle-machine run of the suite saw the followers still short of it at 15 s.
    const deadline = Date.now() + 30_000;
    for (let i = 0; ; i++) {
      await client.put("upkeep/tick").value(String(i));
      await sleep(150);
      const probes = await maintenance.probe();
      if (probes.every((p) => p.answered && p.status.dbSize - p.status.dbSizeInUse >= 2 * MIB)) break;
      assert.ok(
        Date.now() < deadline,
        `free space never showed: ${JSON.stringify(probes.map((p) => p.answered && [p.status.dbSize, p.status.dbSizeInUse]))}`,
      );
    }
    const policy: UpkeepPolicy = {
      ...DEFAULT_UPKEEP_POLICY,
      quotaBackendBytes: QUOTA,
      defragMinFreeBytes: MIB,
      defragMinFreePercent: 25,
    };
    const applied = await runUpkeep("schedule", policy);
    const defrags = applied.flatMap((a) =>
      a.step.kind === "defragment" ? [{ ...a.step, name: a.name }] : [],
    );
    assert.equal(defrags.length, 3, JSON.stringify(applied));
    assert.deepEqual(
      defrags.map((d) => d.leader),
      [false, false, true],
    );

    // etcd's logs: each member's (last) defragmentation finished before the next one's started.
    const spans = defrags.map((d) => {
      const member = cluster.members.find((m) => m.name === d.name);
      assert.ok(member, `no member named ${d.name}`);
      const entries = readFileSync(member.logFile, "utf8")
        .split("\n")
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as { ts: string; msg: string }];
          } catch {
            return [];
          }
        });
      const latest = entries.reverse();
      const start = latest.find((e) => e.msg === "starting defragment");
      const end = latest.find((e) => e.msg === "finished defragment");
      assert.ok(start && end, `${d.name} logged no defragmentation`);
      return { name: d.name, start: logTime(start.ts), end: logTime(end.ts) };
    });
    for (let i = 1; i < spans.length; i++) {
      const previous = spans[i - 1];
      const current = spans[i];
      assert.ok(previous && current && previous.end <= current.start, JSON.stringify(spans));
    }
  });
});
