// Chaos's `lambda-crash` fault: LambdaFunction.crash() kills the function's running container as a
// crashed Lambda container dies. The invocation it ran fails with Runtime.ExitError and the next one
// cold-starts in a new process. Chaos's `lambda-timeout`: hang() stops the containers that run an
// invocation, which then times out; an idle container is left alone, since stopped it would never
// time out (seed 14013 waited for a timeout that could not come), and a crash after the hang leaves
// the stopped container to its timeout (seed 17061 waited for a timeout a crash had turned into an
// exit).
import assert from "node:assert/strict";
import { test } from "node:test";
import { eventually } from "../helpers/control-plane-flows";
import { crashable } from "../helpers/crashable-function";

/** How many containers `fault` acted on, once it acts on one (within 10 s): the invocation reaches
 * its container only once that has started (a cold start takes a while on a loaded machine). */
function acted(fault: () => number): Promise<number> {
  return eventually("the invocation to reach its container", () => fault() || undefined, 10_000);
}

test("crash() kills the running container: its invocation fails and the next one cold-starts", async (t) => {
  const { fn } = crashable(t);
  assert.equal(fn.crash(), 0, "no container runs before the first invocation");

  const firstPid = Number(await fn.invoke({}));
  const hanging = fn.invoke({ hang: true });
  assert.equal(await acted(() => fn.crash()), 1, "the one running container is killed");
  await assert.rejects(hanging, { name: "FunctionError", message: /Runtime\.ExitError|exited/ });

  const secondPid = Number(await fn.invoke({}));
  assert.notEqual(secondPid, firstPid, "the next invocation runs in a fresh container");
});

test("hang() stops only a container running an invocation, which then times out", async (t) => {
  const { fn } = crashable(t, 2000);
  await fn.invoke({}); // a container is up, idle
  assert.equal(fn.hang(), 0, "an idle container is not stopped");
  assert.equal(typeof (await fn.invoke({})), "number", "the idle container still answers");
  const hanging = fn.invoke({ hang: true });
  assert.equal(await acted(() => fn.hang()), 1, "the container running the invocation is stopped");
  await assert.rejects(hanging, { name: "FunctionError", message: /Sandbox\.Timedout/ });
  assert.equal(typeof (await fn.invoke({})), "number", "the next invocation runs in a fresh container");
});

test("crash() after hang() leaves the stopped container to time out", async (t) => {
  const { fn } = crashable(t, 2000);
  const hanging = fn.invoke({ hang: true });
  assert.equal(await acted(() => fn.hang()), 1, "the container running the invocation is stopped");
  assert.equal(fn.crash(), 0, "the stopped container is not killed");
  await assert.rejects(hanging, { name: "FunctionError", message: /Sandbox\.Timedout/ });
});
