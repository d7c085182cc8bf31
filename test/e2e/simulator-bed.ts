// The end-to-end tests' bed: a simulator per test file (local/simulator), stopped when the test
// ends, whatever happened, with its progress printed when the test failed; a member-list watcher;
// and the end-state assertions every scenario makes.
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { TimedOutAction } from "../../local/aws/auto-scaling-group";
import { clusterId, type EtcdMember } from "../../local/simulator/etcd-client";
import { Simulator, type SimulatorOptions } from "../../local/simulator/simulator";

export async function startSimulator(t: TestContext, options: SimulatorOptions = {}): Promise<Simulator> {
  const lines: string[] = [];
  // E2E_LOG=1 prints progress as it happens (to watch a slow or stuck scenario).
  const live = process.env.E2E_LOG === "1";
  const sim = await Simulator.start({
    ...options,
    log: (line) => (live ? console.error(line) : lines.push(line)),
  });
  t.after(async () => {
    const failed = (t as TestContext & { readonly passed?: boolean }).passed !== true;
    if (failed) console.error(`--- simulator progress\n${lines.join("\n")}\n--- files kept in ${sim.root}`);
    await sim.stop(failed);
  });
  return sim;
}

/** Reads etcd's member list every `intervalMs` until stopped; stop() resolves to every answer, in
 * order (a read no member answered is left out). */
export function watchMembers(sim: Simulator, intervalMs: number): { stop(): Promise<EtcdMember[][]> } {
  const answers: EtcdMember[][] = [];
  let watching = true;
  const loop = (async () => {
    while (watching) {
      try {
        answers.push(await sim.members());
      } catch {
        // An election or a member going away: the next read sees the list.
      }
      await sleep(intervalMs);
    }
  })();
  return {
    stop: async () => {
      watching = false;
      await loop;
      return answers;
    },
  };
}

/**
 * What every scenario ends with: etcd's member list is the group's InService instances (all voters,
 * at their own addresses), every key written with quorum is readable, and no lifecycle action
 * timed out except the ones the scenario provoked on purpose.
 */
export async function assertEndState(
  sim: Simulator,
  expectedTimeouts: ReadonlyArray<Pick<TimedOutAction, "instanceId" | "hookName" | "result">> = [],
): Promise<void> {
  await sim.waitConverged(90_000);
  const members = await sim.members();
  assert.deepEqual(
    members.map((m) => m.name).sort(),
    sim
      .instances("InService")
      .map((i) => i.id)
      .sort(),
  );
  assert.deepEqual(await sim.lostKeys(), [], "keys written with quorum are lost");
  assert.deepEqual(
    sim.timedOutActions().map(({ instanceId, hookName, result }) => ({ instanceId, hookName, result })),
    expectedTimeouts,
    "lifecycle actions timed out",
  );
}

/** Waits until the cluster serves again as a recovered generation: converged on instances none of
 * which is in `old`, under a cluster ID other than `before`. */
export async function waitForNewGeneration(
  sim: Simulator,
  old: readonly string[],
  before: string,
  timeoutMs: number,
): Promise<void> {
  const tls = await sim.etcdTls();
  await sim.waitFor(
    `a cluster of new instances serving under a new cluster ID (not ${before})`,
    async () =>
      (await sim.divergence()) === undefined &&
      !sim.instances().some((i) => old.includes(i.id)) &&
      (await clusterId(sim.clientUrls(), tls).catch(() => before)) !== before,
    timeoutMs,
  );
}
