// The boot script's data dir rules: keep a data dir initialised for this member of this cluster,
// move any other non-empty data dir aside (never delete it), start fresh from an empty one. The
// cases that hinge on what etcd does with a data dir run the script's etcd against a real cluster.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { EtcdMembership } from "../../lambdas/adapters/etcd";
import { membershipFor } from "../helpers/etcd/adapter";
import { type EtcdTestCluster, startEtcdCluster } from "../helpers/etcd/cluster";
import { freePort } from "../helpers/etcd/loopback";
import { type BootCase, type FakeSystemctl, isConfigRequest, withBootCase } from "./boot-harness";

const ok = (body: string) => ({ status: 200, body });

async function seedDataDir(c: BootCase, marker?: { token: string; name: string }): Promise<void> {
  await mkdir(join(c.dataDir, "member/snap"), { recursive: true });
  await writeFile(join(c.dataDir, "member/snap/db"), "old data");
  if (marker) {
    await writeFile(
      `${c.dataDir}.etcd-asg`,
      `ETCD_INITIAL_CLUSTER_TOKEN="${marker.token}"\nETCD_NAME="${marker.name}"\n`,
    );
  }
}

/** The one `etcd.moved-*` sibling of the data dir, checked to hold the old data. */
async function movedAside(c: BootCase): Promise<string> {
  const parent = join(c.dataDir, "..");
  const moved = (await readdir(parent)).filter((name) => /^etcd\.moved-\d{8}T\d{6}Z$/.test(name));
  assert.equal(moved.length, 1, `expected one moved-aside data dir, found ${moved.join(", ")}`);
  const path = join(parent, moved[0] ?? "");
  assert.equal(await readFile(join(path, "member/snap/db"), "utf8"), "old data");
  return path;
}

async function assertMarker(c: BootCase, token: string): Promise<void> {
  assert.equal(
    await readFile(`${c.dataDir}.etcd-asg`, "utf8"),
    `ETCD_INITIAL_CLUSTER_TOKEN="${token}"\nETCD_NAME="${c.instanceId}"\n`,
  );
}

describe("boot script data dir rules", () => {
  it("uses the published flags, writes the marker and makes the data dir for the etcd user", async () => {
    await withBootCase(async (c) => {
      c.onApi(() => ok(c.config()));
      const result = await c.run(["-o", "flags"], { ETCD_ASG_ETCD_USER: "4243" });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /--initial-cluster-state=new/);
      await assertMarker(c, "etcd-asg-gen-1");
      // etcd, not root, cannot make its data dir in a root-owned parent.
      const dir = await stat(c.dataDir);
      assert.equal(dir.mode & 0o777, 0o700);
      assert.deepEqual([dir.uid, dir.gid], [4243, 4243]);
      assert.deepEqual(await readdir(c.dataDir), []);
    });
  });

  it("uses the published flags with an existing empty data dir, leaving it in place", async () => {
    await withBootCase(async (c) => {
      await mkdir(c.dataDir, { recursive: true });
      c.onApi(() => ok(c.config()));
      const result = await c.run(["-o", "flags"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`--data-dir=${c.dataDir} `));
      assert.match(result.stdout, /--initial-cluster-state=new/);
      assert.doesNotMatch(result.stderr, /moving data dir|already initialised/);
      assert.deepEqual(await readdir(c.dataDir), []);
      assert.deepEqual(
        (await readdir(join(c.dataDir, ".."))).filter((n) => n.includes("moved")),
        [],
      );
      await assertMarker(c, "etcd-asg-gen-1");
    });
  });

  it("starts as is from a data dir initialised for this member of this cluster", async () => {
    await withBootCase(async (c) => {
      await seedDataDir(c, { token: "etcd-asg-gen-1", name: c.instanceId });
      c.onApi(() => ok(c.config()));
      const result = await c.run(["-o", "flags"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stderr,
        /already initialised: data dir .* belongs to i-\w+ in cluster etcd-asg-gen-1/,
      );
      assert.equal(await readFile(join(c.dataDir, "member/snap/db"), "utf8"), "old data");
      assert.deepEqual(
        (await readdir(join(c.dataDir, ".."))).filter((n) => n.includes("moved")),
        [],
      );
    });
  });

  it("moves aside the data dir of another cluster and joins fresh", async () => {
    await withBootCase(async (c) => {
      await seedDataDir(c, { token: "etcd-asg-gen-0", name: c.instanceId });
      c.onApi(() => ok(c.config()));
      const result = await c.run(["-o", "flags"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stderr,
        /moving data dir .* aside to .*: it belongs to another cluster \(token etcd-asg-gen-0/,
      );
      const moved = await movedAside(c);
      assert.match(await readFile(`${moved}.etcd-asg`, "utf8"), /etcd-asg-gen-0/);
      assert.deepEqual(await readdir(c.dataDir), [], "a fresh, empty data dir takes its place");
      await assertMarker(c, "etcd-asg-gen-1");
    });
  });

  it("moves aside a non-empty data dir without a marker", async () => {
    await withBootCase(async (c) => {
      await seedDataDir(c);
      c.onApi(() => ok(c.config()));
      const result = await c.run(["-o", "env"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /no valid marker .* says which cluster and member it belongs to/);
      await movedAside(c);
      await assertMarker(c, "etcd-asg-gen-1");
    });
  });

  it("moves aside the data dir of another member", async () => {
    await withBootCase(async (c) => {
      await seedDataDir(c, { token: "etcd-asg-gen-1", name: "i-0123456789abcdef0" });
      c.onApi(() => ok(c.config()));
      const result = await c.run(["-o", "dropin"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /it belongs to another member \(i-0123456789abcdef0\)/);
      await movedAside(c);
    });
  });

  it("moves aside the data dir of a removed member and reports not a member", async () => {
    await withBootCase(async (c) => {
      await seedDataDir(c, { token: "etcd-asg-gen-1", name: c.instanceId });
      c.onApi(() => ok('ETCD_ASG_DECISION="not-a-member"\nETCD_ASG_REASON="cluster full"\n'));
      const result = await c.run(["-o", "flags"], { ETCD_ASG_DATA_DIR: c.dataDir });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /this instance is not a member any more \(removed member\)/);
      assert.match(result.stderr, /not a member: etcd is not started/);
      await movedAside(c);
    });
  });

  it("keeps a data dir of this member when no peer answers to say whether it is still listed", async () => {
    await withBootCase(async (c) => {
      await seedDataDir(c, { token: "etcd-asg-gen-1", name: c.instanceId });
      // Nothing listens on the other member's peer URL (port 1).
      const cluster = `i-0123456789abcdef0=https://127.0.0.1:1,${c.instanceId}=https://${c.privateIp}:2380`;
      c.onApi(() =>
        ok(
          c.config({
            ETCD_ASG_DECISION: "learner",
            ETCD_INITIAL_CLUSTER_STATE: "existing",
            ETCD_INITIAL_CLUSTER: cluster,
          }),
        ),
      );
      const result = await c.run(["-o", "flags"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stderr,
        /no peer of i-\w+ answered on \/members: keeping data dir .* as its marker says/,
      );
      assert.match(result.stderr, /already initialised/);
      assert.equal(await readFile(join(c.dataDir, "member/snap/db"), "utf8"), "old data");
    });
  });

  it("leaves the data dir of a node the node API no longer knows (404) untouched and starts nothing", async () => {
    await withBootCase(async (c) => {
      // A removed node that has left the group: its marker still matches its name and token.
      await seedDataDir(c, { token: "etcd-asg-gen-1", name: c.instanceId });
      const systemctl = await c.fakeSystemctl();
      c.onApi(() => ({
        status: 404,
        body: `${c.instanceId} is not an instance of Auto Scaling group etcd-asg\n`,
      }));
      const result = await c.run(["-o", "start"], systemctl.env);
      assert.equal(result.code, 4);
      assert.match(
        result.stderr,
        /the node API rejected the configuration request for instance i-\w+ \(404\): i-\w+ is not an instance of Auto Scaling group/,
      );
      assert.equal(await readFile(join(c.dataDir, "member/snap/db"), "utf8"), "old data");
      assert.equal(
        await readFile(`${c.dataDir}.etcd-asg`, "utf8"),
        `ETCD_INITIAL_CLUSTER_TOKEN="etcd-asg-gen-1"\nETCD_NAME="${c.instanceId}"\n`,
      );
      assert.deepEqual((await readdir(join(c.dataDir, ".."))).sort(), ["etcd", "etcd.etcd-asg"]);
      assert.equal(existsSync(c.dropinDir), false, "no drop-in");
      assert.equal(existsSync(systemctl.env.FAKE_SYSTEMCTL_LOG), false, "systemctl never called");
    });
  });

  it("exits 6 when the data dir path is not a directory", async () => {
    await withBootCase(async (c) => {
      await mkdir(join(c.dataDir, ".."), { recursive: true });
      await writeFile(c.dataDir, "a file");
      c.onApi(() => ok(c.config()));
      const result = await c.run(["-o", "flags"]);
      assert.equal(result.code, 6);
      assert.match(result.stderr, /data dir .*\/var\/lib\/etcd exists and is not a directory/);
      assert.equal(result.stdout, "");
    });
  });
});

/** The node's etcd URLs on its private IP, on ports free right now. Plaintext, like the founders'
 * test-bed cluster: these cases are about the data dir rules, not TLS (etcd ignores the script's TLS
 * files on http URLs; boot-tls covers them). */
async function nodeUrls(c: BootCase): Promise<{ peer: string; client: string }> {
  return {
    peer: `http://${c.privateIp}:${await freePort(c.privateIp)}`,
    client: `http://${c.privateIp}:${await freePort(c.privateIp)}`,
  };
}

/** What the node API publishes for this node joining `cluster` as a learner. */
function learnerConfig(
  c: BootCase,
  cluster: EtcdTestCluster,
  urls: { peer: string; client: string },
): string {
  const founders = cluster.members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
  return c.config({
    ETCD_ASG_DECISION: "learner",
    ETCD_ASG_REASON: `cluster has room; ${c.instanceId} joins as a learner`,
    ETCD_INITIAL_CLUSTER: `${founders},${c.instanceId}=${urls.peer}`,
    ETCD_INITIAL_CLUSTER_STATE: "existing",
    ETCD_INITIAL_CLUSTER_TOKEN: cluster.token,
    ETCD_INITIAL_ADVERTISE_PEER_URLS: urls.peer,
    ETCD_LISTEN_PEER_URLS: urls.peer,
    ETCD_LISTEN_CLIENT_URLS: urls.client,
    ETCD_ADVERTISE_CLIENT_URLS: urls.client,
  });
}

/** Runs the script in start mode with `config` published; the node API confirms on the first ready. */
async function boot(c: BootCase, systemctl: FakeSystemctl, config: string) {
  c.onApi((request) => ok(isConfigRequest(request) ? config : 'ETCD_ASG_STATUS="member"\n'));
  const result = await c.run(["-o", "start"], { ...systemctl.env, ETCD_ASG_DEADLINE_SECONDS: "40" });
  const logFile = `${systemctl.env.FAKE_SYSTEMCTL_LOG}.etcd`;
  const etcdLog = existsSync(logFile) ? readFileSync(logFile, "utf8") : "(etcd never started)";
  assert.equal(result.code, 0, `${result.stderr}\n--- node etcd log\n${etcdLog.slice(-3000)}`);
  return result;
}

/** Waits until the cluster lists member `id` as started under the node's name (it published it). */
async function waitStarted(membership: EtcdMembership, c: BootCase, id: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const member = (await membership.listMembers()).find((m) => m.id === id);
    if (member?.name === c.instanceId) return;
    await sleep(100);
  }
  assert.fail(`member ${id} never started as ${c.instanceId}`);
}

/** The node joined as a learner once, started (published its name) and stopped, its data dir kept. */
async function joinedAndStopped(
  c: BootCase,
  cluster: EtcdTestCluster,
  membership: EtcdMembership,
  systemctl: FakeSystemctl,
) {
  const urls = await nodeUrls(c);
  const added = await membership.addLearner(urls.peer);
  const config = learnerConfig(c, cluster, urls);
  await boot(c, systemctl, config);
  await waitStarted(membership, c, added.id);
  await systemctl.stopEtcd();
  return { urls, config, added };
}

/** The node's etcd is member `id` of the founders' cluster, as a learner. */
async function assertServesAs(
  membership: EtcdMembership,
  urls: { client: string },
  id: string,
  cluster: EtcdTestCluster,
): Promise<void> {
  const status = await membership.endpointStatus(urls.client);
  assert.equal(status.memberId, id, "the node's etcd runs as the member the cluster added for it");
  assert.equal(status.isLearner, true);
  const founder = await membership.endpointStatus(cluster.members[0]?.clientUrl ?? "");
  assert.equal(status.leaderId, founder.leaderId, "it follows the founders' leader");
}

/** The one moved-aside data dir, checked to hold the old etcd data and, next to it, its marker. */
async function movedAsideEtcdData(c: BootCase, oldToken: string): Promise<void> {
  const parent = join(c.dataDir, "..");
  const moved = (await readdir(parent)).filter((name) => /^etcd\.moved-\d{8}T\d{6}Z$/.test(name));
  assert.equal(moved.length, 1, `expected one moved-aside data dir, found ${moved.join(", ")}`);
  const path = join(parent, moved[0] ?? "");
  assert.ok((await readdir(join(path, "member/wal"))).length > 0, "the old WAL was kept");
  assert.equal(
    await readFile(`${path}.etcd-asg`, "utf8"),
    `ETCD_INITIAL_CLUSTER_TOKEN="${oldToken}"\nETCD_NAME="${c.instanceId}"\n`,
  );
}

/** A founders' cluster of one, its adapter and a boot case with the stand-in systemctl. */
async function withFounders(
  t: TestContext,
  fn: (
    c: BootCase,
    cluster: EtcdTestCluster,
    membership: EtcdMembership,
    systemctl: FakeSystemctl,
  ) => Promise<void>,
): Promise<void> {
  const cluster = await startEtcdCluster(t, { size: 1 });
  const membership = membershipFor(t, cluster.clientUrls);
  await withBootCase(async (c) => {
    const systemctl = await c.fakeSystemctl();
    try {
      await fn(c, cluster, membership, systemctl);
    } finally {
      await systemctl.stopEtcd();
    }
  });
}

describe("boot script data dir rules, with the node's etcd joining a real cluster", () => {
  it("keeps the data dir of a member the cluster still lists and restarts etcd from it", async (t) => {
    await withFounders(t, async (c, cluster, membership, systemctl) => {
      const { urls, config, added } = await joinedAndStopped(c, cluster, membership, systemctl);
      const again = await boot(c, systemctl, config);
      assert.match(again.stderr, /already initialised/);
      assert.doesNotMatch(again.stderr, /moving data dir/);
      await assertServesAs(membership, urls, added.id, cluster);
    });
  });

  it("moves aside the data dir of a removed member added again and joins fresh with the published flags", async (t) => {
    await withFounders(t, async (c, cluster, membership, systemctl) => {
      const { urls, config, added: first } = await joinedAndStopped(c, cluster, membership, systemctl);
      // The control plane removes the node's member and later lets the same instance join again:
      // same name, same peer URL, same cluster token, a new member ID. etcd refuses the old data dir
      // for good ("the member has been permanently removed from the cluster").
      await membership.remove(first.id);
      const second = await membership.addLearner(urls.peer);
      assert.notEqual(second.id, first.id);
      const rejoin = await boot(c, systemctl, config);
      assert.match(
        rejoin.stderr,
        new RegExp(
          `moving data dir ${c.dataDir} aside to .*: its member was removed from the cluster: ` +
            `${cluster.members[0]?.peerUrl} lists no started member ${c.instanceId}`,
        ),
      );
      await movedAsideEtcdData(c, cluster.token);
      await assertServesAs(membership, urls, second.id, cluster);
    });
  });

  it("moves aside the data dir of another cluster and joins fresh with the published flags", async (t) => {
    await withFounders(t, async (c, cluster, membership, systemctl) => {
      const urls = await nodeUrls(c);
      // The instance ran a one-member cluster of an older generation from this data dir.
      const own = `${c.instanceId}=${urls.peer}`;
      await boot(
        c,
        systemctl,
        learnerConfig(c, cluster, urls)
          .replace(/ETCD_ASG_DECISION="learner"/, 'ETCD_ASG_DECISION="member"')
          .replace(/ETCD_INITIAL_CLUSTER=".*"/, `ETCD_INITIAL_CLUSTER="${own}"`)
          .replace(/ETCD_INITIAL_CLUSTER_STATE="existing"/, 'ETCD_INITIAL_CLUSTER_STATE="new"')
          .replace(/ETCD_INITIAL_CLUSTER_TOKEN=".*"/, 'ETCD_INITIAL_CLUSTER_TOKEN="etcd-asg-gen-0"'),
      );
      await systemctl.stopEtcd();

      const added = await membership.addLearner(urls.peer);
      const join = await boot(c, systemctl, learnerConfig(c, cluster, urls));
      assert.match(
        join.stderr,
        /moving data dir .* aside to .*: it belongs to another cluster \(token etcd-asg-gen-0, published etcd-asg-it-/,
      );
      await movedAsideEtcdData(c, "etcd-asg-gen-0");
      await assertServesAs(membership, urls, added.id, cluster);
    });
  });
});
