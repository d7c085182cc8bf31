// Each control-plane fault kind of the chaos runner, played by the runner's own episode code on a
// 3-node simulator (real etcd 3.4 with mutual TLS, the real Lambda bundles, the real boot script)
// while a client writes with quorum, really happens and leaves every invariant kept: the ledger's
// endpoint refuses the control plane's DynamoDB requests during an outage, the node API hung at a
// launch's completion is killed by its timeout (Sandbox.Timedout), and a node API whose clock is
// skewed issues certificates dated by its skewed clock. A member added while the ledger is down (by
// the test, behind the control plane's back) is reported as no-change-without-ledger. Each episode
// replaces one instance through the fault, and the group ends with every instance a started voter.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { ControlPlaneFaultPlan } from "../../chaos/control-plane-episodes";
import { type EpisodeContext, playEpisode } from "../../chaos/episodes";
import { FaultInjection, type FaultKind } from "../../chaos/faults";
import type { Violation } from "../../chaos/invariants";
import type { Episode } from "../../chaos/schedule";
import { addLearner, describeFailure, removeMember } from "../../local/simulator/etcd-client";
import type { InvocationRecord } from "../../local/simulator/lambda-function";
import type { EtcdTls } from "../../local/simulator/operator-identity";
import { Simulator } from "../../local/simulator/simulator";
import { bareEpisode, playChecked } from "../helpers/chaos-episode";

const CONVERGE_MS = 120_000;
/** What the node API's skewed clock is ahead by: far more than a boot's few seconds, so the
 * certificate's date cannot be off by that much for any other reason. */
const NODE_API_SKEW_MS = 60_000;
/** The longest the boot script's config request is held (CONFIG_WAIT_SECONDS). */
const LONG_POLL_MS = 10_000;

let sim: Simulator;

function episode(kind: Episode["kind"], controlPlane: ControlPlaneFaultPlan): Episode {
  return bareEpisode(kind, 1, { controlPlane });
}

const PLAN: ControlPlaneFaultPlan = {
  outage: "unavailable",
  outageMs: 10_000,
  skewsMs: { "launch-hook": 3000, "terminate-hook": -4000, reconciler: 2500, "node-api": NODE_API_SKEW_MS },
};

function counted(faults: FaultInjection, kind: FaultKind): void {
  assert.ok(faults.counts[kind] >= 1, `${kind} did nothing: ${JSON.stringify(faults.counts)}`);
}

/**
 * A learner added while the ledger is still down. etcd refuses a member change for a while after a
 * member (the episode's replacement) started ("unhealthy cluster", --strict-reconfig-check): retried.
 * Every call has a deadline and tries each member in turn: the episode's replacement terminates one,
 * and a call left on its vanished address would wait for TCP to give up (about 15 minutes).
 */
async function addWhileDown(tls: EtcdTls): Promise<string> {
  for (;;) {
    if (sim.ledgerOutage.active === undefined) assert.fail("the outage ended before etcd took the member");
    try {
      return await addLearner(sim.clientUrls(), tls, "https://127.0.0.1:9");
    } catch (error) {
      if (!/unhealthy cluster/.test(describeFailure(error))) throw error;
      await sleep(250);
    }
  }
}

/**
 * Removes the learner the test added. Once the ledger is back the control plane may remove it first
 * (a member no instance stands behind): etcd then answers "member not found", which is fine here.
 */
async function removeUnlessGone(tls: EtcdTls, id: string): Promise<void> {
  try {
    await removeMember(sim.clientUrls(), tls, id);
  } catch (error) {
    if (!/member not found/.test(describeFailure(error))) throw error;
  }
}

describe("control-plane fault kinds", { timeout: 900_000 }, () => {
  before(async () => {
    sim = await Simulator.start({ size: 3, maxSize: 5 });
  });
  after(async () => {
    await sim?.stop();
  });

  test("ledger-outage: the ledger refuses the control plane during a replacement, which completes after it", async () => {
    const refused = sim.ledgerOutage.refused;
    const faults = await playChecked(sim, episode("ledger-outage", PLAN), 1);
    counted(faults, "ledger-outage");
    // Refused at the endpoint: the replacement's hooks and the reconciler's passes met the outage.
    assert.ok(
      sim.ledgerOutage.refused - refused >= 3,
      `only ${sim.ledgerOutage.refused - refused} requests refused`,
    );
    assert.equal(sim.ledgerOutage.active, undefined, "the outage is over");
  });

  test("no-change-without-ledger: a member added behind the control plane's back while the ledger is down is reported", async () => {
    await sim.waitConverged(CONVERGE_MS);
    const violations: Violation[] = [];
    const ctx: EpisodeContext = {
      sim,
      faults: new FaultInjection(sim, 4),
      convergeMs: CONVERGE_MS,
      expectedTimeouts: [],
      violations,
    };
    const playing = playEpisode(ctx, episode("ledger-outage", { ...PLAN, outageMs: 12_000 }));
    const tls = await sim.etcdTls();
    try {
      await sim.waitFor("the outage", () => sim.ledgerOutage.active !== undefined, CONVERGE_MS);
      // After the player's first look at the members (2 s in), before its second (at the end).
      await sleep(3500);
      // Nothing listens at this peer URL: the learner never starts, and etcd keeps trying it.
      const added = await addWhileDown(tls);
      await sim.waitFor("the outage to end", () => sim.ledgerOutage.active === undefined, 30_000);
      await removeUnlessGone(tls, added);
      await playing;
    } finally {
      await playing.catch(() => undefined);
    }
    assert.deepEqual(
      violations.map((v) => v.invariant),
      ["no-change-without-ledger"],
    );
    assert.match(violations[0]?.detail ?? "", /\(learner\)/);
    await sim.waitConverged(CONVERGE_MS);
  });

  test("lambda-timeout: the node API hung at a launch's completion is killed by its timeout, and the launch completes", async () => {
    const timedOut: InvocationRecord[] = [];
    const stop = sim.onInvocation((record) => {
      if (record.error === "Sandbox.Timedout") timedOut.push(record);
    });
    try {
      const faults = await playChecked(sim, episode("lambda-timeout", PLAN), 2);
      counted(faults, "lambda-timeout");
      assert.equal(faults.hung, true, "no container was hung");
    } finally {
      stop();
    }
    const record = timedOut.find((r) => r.fn === "node-api");
    assert.ok(record, `no node-api invocation timed out: ${JSON.stringify(timedOut)}`);
    // Killed at its timeout (the stack's 30 s), not before.
    assert.ok(
      record.endedAt - record.startedAt >= 29_000,
      `ended after ${record.endedAt - record.startedAt} ms`,
    );
  });

  test("clock-skew: each function runs off the real time of day, and a replacement still joins", async () => {
    const before = new Set(sim.instances().map((i) => i.id));
    const faults = await playChecked(sim, episode("clock-skew", PLAN), 3);
    counted(faults, "clock-skew");
    for (const fn of Object.keys(PLAN.skewsMs))
      assert.equal(sim.fn(fn).clockOffset, 0, `${fn} is still skewed`);
    // The replacement's certificate was issued by the skewed node API: its notBefore (the issuer's
    // now less the 5-minute skew allowance) is ahead of when the node wrote it by about the skew, less
    // what the config request's long poll (at most 10 s) held the certificate signed at its arrival.
    const replacement = sim.instances("InService").find((i) => !before.has(i.id));
    assert.ok(replacement, "no replacement is in service");
    const file = join(sim.node(replacement.id).options.root, "pki", "peer.crt");
    const notBefore = Date.parse(new X509Certificate(readFileSync(file)).validFrom);
    const aheadMs = notBefore + 5 * 60_000 - statSync(file).mtimeMs;
    assert.ok(
      aheadMs > NODE_API_SKEW_MS - LONG_POLL_MS - 5000 && aheadMs < NODE_API_SKEW_MS + 5000,
      `the certificate is dated ${aheadMs} ms ahead of its file, not about ${NODE_API_SKEW_MS}`,
    );
  });
});
