// The boot script's start mode: writes the drop-in, starts a real etcd through a stand-in
// systemctl, waits for it to answer on its client URL and reports "ready" to the node API.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { isConfigRequest, withBootCase } from "./boot-harness";

const ready = {
  waiting: {
    status: 202,
    body: 'ETCD_ASG_STATUS="waiting"\nETCD_ASG_REASON="learner is 12 revisions behind"\n',
  },
  member: { status: 200, body: 'ETCD_ASG_STATUS="member"\n' },
};

describe("boot script start mode", () => {
  it("stands by while the cluster is full and starts etcd once a slot frees", async () => {
    await withBootCase(async (c) => {
      const { env, stopEtcd } = await c.fakeSystemctl();
      try {
        const full = {
          status: 200,
          body: 'ETCD_ASG_DECISION="not-a-member"\nETCD_ASG_REASON="cluster is full"\n',
        };
        c.onApi((request, n) => {
          if (isConfigRequest(request)) return n < 2 ? full : { status: 200, body: c.config() };
          return ready.member;
        });
        const result = await c.run(["-o", "start"], env);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stderr, /standing by for a free slot until the deadline: cluster is full/);
        assert.match(result.stderr, /etcd is healthy on https:\/\/.*:2379\/health/);
        assert.deepEqual(
          c.requests.map((r) => r.method),
          ["POST", "POST", "POST", "POST"],
        );
      } finally {
        await stopEtcd();
      }
    });
  });

  it("starts etcd from the drop-in, reports ready until the node API confirms, and restarts as is", async () => {
    await withBootCase(async (c) => {
      const { env, stopEtcd } = await c.fakeSystemctl();
      try {
        c.onApi((request, n) => {
          if (isConfigRequest(request)) return { status: 200, body: c.config() };
          return n < 2 ? ready.waiting : ready.member;
        });
        const first = await c.run(["-o", "start"], env);
        assert.equal(first.code, 0, first.stderr);
        assert.match(first.stderr, /etcd is healthy on https:\/\/.*:2379\/health/);
        assert.match(first.stderr, /learner is 12 revisions behind/);
        assert.match(first.stderr, /the node API reports i-\w+ as a member/);
        assert.deepEqual(
          c.requests.map((r) => `${r.method} ${r.url}`),
          [
            `POST /v1/nodes/${c.instanceId}/config?etcd=3.5.6&format=env&standby=1&wait=10`,
            `POST /v1/nodes/${c.instanceId}/ready`,
            `POST /v1/nodes/${c.instanceId}/ready`,
          ],
        );
        for (const request of c.requests) assert.equal(request.signatureProblem, undefined);
        assert.equal(
          await readFile(env.FAKE_SYSTEMCTL_LOG, "utf8"),
          "daemon-reload\nrestart etcd\nenable etcd\nenable --now etcd-asg-renew.timer\n",
        );
        const dropin = await readFile(join(c.dropinDir, "20-etcd-asg.conf"), "utf8");
        assert.match(dropin, new RegExp(`^Environment="ETCD_NAME=${c.instanceId}"$`, "m"));

        await stopEtcd();
        c.requests.length = 0;
        const second = await c.run(["-o", "start"], env);
        assert.equal(second.code, 0, second.stderr);
        assert.match(second.stderr, /already initialised/);
        assert.match(second.stderr, /etcd is healthy/);
      } finally {
        await stopEtcd();
      }
    });
  });

  it("exits 4 naming the refusal when the node API answers the ready report with 409", async () => {
    await withBootCase(async (c) => {
      const { env, stopEtcd } = await c.fakeSystemctl();
      try {
        c.onApi((request) =>
          isConfigRequest(request)
            ? { status: 200, body: c.config() }
            : {
                status: 409,
                body: 'ETCD_ASG_STATUS="refused"\nETCD_ASG_REASON="quorum is lost (1 of 3 voters healthy); adding it needs an operator"\n',
              },
        );
        const result = await c.run(["-o", "start"], env);
        assert.equal(result.code, 4, result.stderr);
        assert.match(
          result.stderr,
          /refused the ready report for instance i-\w+ as a conflict with the cluster's state \(409\): ETCD_ASG_STATUS="refused" ETCD_ASG_REASON="quorum is lost/,
        );
        assert.deepEqual(
          c.requests.map((r) => r.method),
          ["POST", "POST"],
          "a refused ready report is not retried",
        );
      } finally {
        await stopEtcd();
      }
    });
  });

  it("exits 7 when etcd does not answer healthy before the deadline", async () => {
    await withBootCase(async (c) => {
      const { env } = await c.fakeSystemctl();
      c.onApi(() => ({ status: 200, body: c.config() }));
      const result = await c.run(["-o", "start"], {
        ...env,
        FAKE_SYSTEMCTL_NO_ETCD: "1",
        ETCD_ASG_DEADLINE_SECONDS: "2",
      });
      assert.equal(result.code, 7);
      assert.match(
        result.stderr,
        /etcd did not answer healthy on https:\/\/.*:2379\/health within the 2s deadline/,
      );
      assert.equal(c.requests.length, 1, "no ready report for an etcd that never answered");
    });
  });

  it("exits 1 when the node API has not confirmed membership by the deadline", async () => {
    await withBootCase(async (c) => {
      const { env, stopEtcd } = await c.fakeSystemctl();
      try {
        c.onApi((request) => (isConfigRequest(request) ? { status: 200, body: c.config() } : ready.waiting));
        // Long enough for etcd to start and answer healthy on a loaded machine (CI's, a campaign's):
        // the deadline must pass in the ready report's wait, not before.
        const result = await c.run(["-o", "start"], { ...env, ETCD_ASG_DEADLINE_SECONDS: "10" });
        assert.equal(result.code, 1, result.stderr);
        assert.match(
          result.stderr,
          /deadline of 10s passed before the node API confirmed membership: the learner is still catching up/,
        );
      } finally {
        await stopEtcd();
      }
    });
  });
});
