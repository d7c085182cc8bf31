// The chaos schedule is a pure function of its seed: a failing run's seed replays the same episodes
// and the same fault probabilities, and the options pin the size and the episode count.
import assert from "node:assert/strict";
import { test } from "node:test";
import { replayCommand } from "../../chaos/report";
import { drawSchedule } from "../../chaos/schedule";

test("the same seed draws the same schedule", () => {
  for (const seed of [0, 1, 42, 0xffffffff]) assert.deepEqual(drawSchedule(seed), drawSchedule(seed));
});

test("different seeds draw different schedules", () => {
  const drawn = new Set(Array.from({ length: 50 }, (_, seed) => JSON.stringify(drawSchedule(seed).episodes)));
  assert.ok(drawn.size > 45, `only ${drawn.size} distinct schedules from 50 seeds`);
});

test("a drawn schedule has 2 to 4 episodes on 3 or 5 nodes, and honours the size and episode options", () => {
  for (let seed = 0; seed < 200; seed++) {
    const schedule = drawSchedule(seed);
    assert.ok([3, 5].includes(schedule.size));
    assert.ok(schedule.episodes.length >= 2 && schedule.episodes.length <= 4);
    const pinned = drawSchedule(seed, { size: 5, episodes: 7 });
    assert.equal(pinned.size, 5);
    assert.equal(pinned.episodes.length, 7);
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
