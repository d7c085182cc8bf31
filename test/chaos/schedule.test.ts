// The chaos schedule is a pure function of its seed: a failing run's seed replays the same episodes
// and the same fault probabilities, and the options pin the size and the episode count.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CONTROL_PLANE_FAULT_KINDS, isControlPlaneFaultKind } from "../../chaos/control-plane-episodes";
import { isNetworkFaultKind } from "../../chaos/network-episodes";
import { replayCommand } from "../../chaos/report";
import { drawSchedule, EPISODE_FAULTS, episodeKinds, isMembershipEpisode } from "../../chaos/schedule";

test("the same seed draws the same schedule", () => {
  for (const seed of [0, 1, 42, 0xffffffff]) assert.deepEqual(drawSchedule(seed), drawSchedule(seed));
});

test("different seeds draw different schedules", () => {
  const drawn = new Set(Array.from({ length: 50 }, (_, seed) => JSON.stringify(drawSchedule(seed).episodes)));
  assert.ok(drawn.size > 45, `only ${drawn.size} distinct schedules from 50 seeds`);
});

test("a drawn schedule has 2 to 4 episodes on 3, 5 or 7 nodes, and honours the size and episode options", () => {
  const sizes = new Set<number>();
  for (let seed = 0; seed < 200; seed++) {
    const schedule = drawSchedule(seed);
    sizes.add(schedule.size);
    assert.ok([3, 5, 7].includes(schedule.size));
    assert.ok(schedule.episodes.length >= 2 && schedule.episodes.length <= 4);
    const pinned = drawSchedule(seed, { size: 5, episodes: 7 });
    assert.equal(pinned.size, 5);
    assert.equal(pinned.episodes.length, 7);
  }
  assert.deepEqual([...sizes].sort(), [3, 5, 7]);
});

test("every episode kind is drawn, network, control-plane and disk faults with plans that heal well inside the grace", () => {
  const kinds = new Set<string>();
  for (let seed = 0; seed < 300; seed++) {
    for (const episode of drawSchedule(seed).episodes) {
      kinds.add(episode.kind);
      assert.equal(episode.network !== undefined, isNetworkFaultKind(episode.kind), episode.kind);
      if (episode.network) assert.ok(episode.network.forMs >= 3000 && episode.network.forMs <= 15_000);
      assert.equal(episode.controlPlane !== undefined, isControlPlaneFaultKind(episode.kind), episode.kind);
      if (episode.controlPlane) {
        const { outageMs, skewsMs } = episode.controlPlane;
        assert.ok(outageMs >= 5000 && outageMs <= 20_000, `outage of ${outageMs} ms`);
        for (const ms of Object.values(skewsMs)) assert.ok(Math.abs(ms) <= 5000, `skew of ${ms} ms`);
      }
      assert.equal(episode.diskFullMs !== undefined, episode.kind === "disk-full", episode.kind);
    }
  }
  assert.deepEqual([...kinds].sort(), [...episodeKinds(undefined)].sort());
});

test("--faults limits the episodes to those injecting the kinds named, and the accompanying faults too", () => {
  const faults = ["partition-one", "latency"] as const;
  for (let seed = 0; seed < 100; seed++) {
    const schedule = drawSchedule(seed, { faults });
    assert.deepEqual(schedule.faults, faults);
    for (const episode of schedule.episodes) {
      assert.ok(
        faults.some((kind) => EPISODE_FAULTS[episode.kind].includes(kind)),
        episode.kind,
      );
      assert.deepEqual(episode.events, { duplicate: 0, delay: 0, drop: 0 });
      assert.deepEqual(episode.aws, { throttling: 0, serverError: 0 });
      assert.equal(episode.crashAtCompletion, undefined);
      assert.equal(episode.raceAtEvent, undefined);
      assert.equal(episode.freeze, undefined);
    }
    assert.equal(replayCommand(schedule).endsWith(" --faults partition-one,latency"), true);
  }
  // Only accompanying kinds named: the membership episodes carry them.
  for (const episode of drawSchedule(1, { faults: ["event-lost"], episodes: 20 }).episodes) {
    assert.equal(isMembershipEpisode(episode.kind), true, episode.kind);
  }
});

test("each control-plane and disk fault kind named alone draws only its own episodes, with their plans", () => {
  for (const kind of [...CONTROL_PLANE_FAULT_KINDS, "disk-full"] as const) {
    for (let seed = 0; seed < 20; seed++) {
      for (const episode of drawSchedule(seed, { faults: [kind] }).episodes) {
        assert.equal(episode.kind, kind);
        assert.ok(episode.controlPlane !== undefined || episode.diskFullMs !== undefined, kind);
      }
    }
  }
});

test("a freeze only accompanies episodes that keep every other voter up", () => {
  for (let seed = 0; seed < 500; seed++) {
    for (const episode of drawSchedule(seed).episodes) {
      if (episode.freeze) assert.ok(["freeze", "scale-out-in"].includes(episode.kind), episode.kind);
    }
  }
});

test("the replay command's pinned size and episode count replay the schedule drawn without them", () => {
  for (let seed = 0; seed < 100; seed++) {
    const schedule = drawSchedule(seed);
    const replay = replayCommand(schedule);
    assert.equal(
      replay,
      `npm run chaos -- --runs 1 --seed ${seed} --size ${schedule.size} --episodes ${schedule.episodes.length}`,
    );
    assert.deepEqual(
      drawSchedule(seed, { size: schedule.size, episodes: schedule.episodes.length }),
      schedule,
    );
  }
});

test("pinning fewer episodes keeps the first ones", () => {
  const full = drawSchedule(11, { episodes: 4 });
  assert.deepEqual(drawSchedule(11, { episodes: 1 }).episodes, full.episodes.slice(0, 1));
});

test("--faults majority-lost draws only its episodes, each with its plan and no accompanying fault", () => {
  for (let seed = 0; seed < 50; seed++) {
    for (const episode of drawSchedule(seed, { faults: ["majority-lost"] }).episodes) {
      assert.equal(episode.kind, "majority-lost");
      assert.ok(episode.majorityLost, "no plan");
      assert.ok(episode.majorityLost.afterSnapshotMs >= 500 && episode.majorityLost.afterSnapshotMs <= 5000);
      assert.deepEqual(
        [episode.events, episode.aws],
        [
          { duplicate: 0, delay: 0, drop: 0 },
          { throttling: 0, serverError: 0 },
        ],
      );
      assert.equal(episode.crashAtCompletion ?? episode.raceAtEvent, undefined);
    }
  }
});
