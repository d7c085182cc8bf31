// The boot script's start order (domain/start-order.ts): an initial member of a new cluster told to
// start after another waits until that member answers on its peer port, or until its port has
// stayed closed for the time it was given; a malformed order is refused before etcd starts. etcd
// itself is not started here (the stand-in systemctl's FAKE_SYSTEMCTL_NO_ETCD): what is checked is
// the wait before `systemctl restart etcd`, and the health wait then ends at a short deadline.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { describe, it } from "node:test";
import { type BootCase, instanceIp, withBootCase } from "./boot-harness";

/** An initial set of two, this node told to start after `peerUrl` (another member's unless given). */
function orderedConfig(
  c: BootCase,
  peerUrl: string,
  closedMs: string,
  overrides: Record<string, string> = {},
): string {
  const own = `https://${c.privateIp}:2380`;
  const { ETCD_ASG_START_AFTER: startAfter = peerUrl, ...etcd } = overrides;
  return (
    c.config({ ETCD_INITIAL_CLUSTER: `i-00000000000000001=${peerUrl},${c.instanceId}=${own}`, ...etcd }) +
    `ETCD_ASG_START_AFTER="${startAfter}"\nETCD_ASG_START_AFTER_CLOSED_MS="${closedMs}"\n`
  );
}

/** Runs start mode until its health wait gives up (no etcd is started); the stand-in's log. */
async function runOrdered(
  c: BootCase,
  config: string,
): Promise<{ stderr: string; code: number | null; log: string }> {
  const { env } = await c.fakeSystemctl();
  c.onApi(() => ({ status: 200, body: config }));
  const result = await c.run(["-o", "start"], {
    ...env,
    FAKE_SYSTEMCTL_NO_ETCD: "1",
    ETCD_ASG_DEADLINE_SECONDS: "3",
  });
  const log = await readFile(env.FAKE_SYSTEMCTL_LOG, "utf8").catch(() => "");
  return { stderr: result.stderr, code: result.code, log };
}

/** A peer port that accepts at once and answers nothing for `holdMs` (bound, etcd still in its
 * check), then drops the connection (answered: serving, or failing, but no longer silent). */
async function silentPeer(ip: string, holdMs: number): Promise<{ url: string; server: Server }> {
  const server = createServer((socket) => {
    setTimeout(() => socket.destroy(), holdMs);
  });
  await new Promise<void>((done) => server.listen(0, ip, done));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { url: `https://${ip}:${address.port}`, server };
}

describe("boot script start order", () => {
  it("waits while the first member's port is bound but silent, and starts etcd once it answers", async () => {
    await withBootCase(async (c) => {
      const { url, server } = await silentPeer(instanceIp(), 600);
      try {
        const { stderr, log } = await runOrdered(c, orderedConfig(c, url, "50"));
        const answered = /answers after (\d+) ms: starting etcd/.exec(stderr);
        assert.ok(answered !== null, stderr);
        assert.ok(
          Number(answered[1]) >= 500,
          `a bound port holds the wait past its 50 ms: ${answered[1]} ms`,
        );
        assert.ok(stderr.indexOf(answered[0]) < stderr.indexOf("started etcd"), stderr);
        assert.equal(log, "daemon-reload\nrestart etcd\n");
      } finally {
        server.close();
      }
    });
  });

  it("starts etcd without the first member once its port has stayed closed for the time given", async () => {
    await withBootCase(async (c) => {
      // Nothing listens there: every try is refused at once.
      const url = `https://${instanceIp()}:2380`;
      const { stderr, log } = await runOrdered(c, orderedConfig(c, url, "200"));
      assert.match(
        stderr,
        new RegExp(`${url.replaceAll(".", "\\.")} still closed after 200 ms: starting etcd without it`),
      );
      assert.ok(stderr.indexOf("still closed") < stderr.indexOf("started etcd"), stderr);
      assert.equal(log, "daemon-reload\nrestart etcd\n");
    });
  });

  for (const [name, overrides, closedMs, message] of [
    ["naming its own peer URL", { ETCD_ASG_START_AFTER: "own" }, "150", /is not another member's peer URL/],
    [
      "naming a URL outside the initial cluster",
      { ETCD_ASG_START_AFTER: "https://127.0.0.1:2380" },
      "150",
      /is not another member's peer URL/,
    ],
    ["without a time", {}, "0", /needs ETCD_ASG_START_AFTER_CLOSED_MS, 1 to 99999 ms, got "0"/],
    [
      "for an existing cluster",
      { ETCD_INITIAL_CLUSTER_STATE: "existing" },
      "150",
      /only for a member starting a new cluster/,
    ],
  ] as const) {
    it(`refuses a start order ${name}, and starts nothing`, async () => {
      await withBootCase(async (c) => {
        const peer = `https://${instanceIp()}:2380`;
        const own = `https://${c.privateIp}:2380`;
        const fields: Record<string, string> = { ...overrides };
        if (fields.ETCD_ASG_START_AFTER === "own") fields.ETCD_ASG_START_AFTER = own;
        const { stderr, code, log } = await runOrdered(c, orderedConfig(c, peer, closedMs, fields));
        assert.equal(code, 5, stderr);
        assert.match(stderr, message);
        assert.equal(log, "", "systemctl is never called");
      });
    });
  }
});
