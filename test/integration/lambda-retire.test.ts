// A container retired by a deploy while it runs an invocation is let go once nothing runs in it,
// also when it dies with the invocation unanswered: its retire timer must end, or the simulator's
// process never exits (seen as a roll e2e file that hung after a failed assertion). In a file of its
// own: it counts the process's timers.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { crashable } from "../helpers/crashable-function";

test("a container retired by a deploy and killed mid-invocation leaves no timer behind", async (t) => {
  const { fn, options } = crashable(t);
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
  const before = timers(); // no container yet
  const hanging = fn.invoke({ hang: true });
  await sleep(1000); // the container has started and runs the invocation
  fn.deploy(options); // the running container retires once idle
  assert.equal(fn.crash(), 1, "the retiring container was running");
  await assert.rejects(hanging, { name: "FunctionError", message: /Runtime\.ExitError|exited/ });
  await sleep(300); // the retire timer's next ticks
  assert.equal(timers(), before, "no timer is left running");
});
