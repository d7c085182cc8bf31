// The boot script joins a running cluster: on the simulator, a real 3-member etcd cluster runs, the
// group launches a fourth instance, and the REAL boot script on it asks the REAL node-api bundle
// through the SigV4-checking function URL, is told to join as a learner, starts etcd, reports ready
// and is promoted to a voting member. etcd's own logs show the learner, then the voter. The same
// script, run on that instance with its role's secret wrong, is refused with 403 and changes nothing.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ImdsServer } from "../../local/imds/imds-server";
import type { SimulatedNode } from "../../local/simulator/node";
import { assertEndState, startSimulator } from "../e2e/simulator-bed";
import { runBash, SCRIPT } from "./boot-harness";

type Role = "absent" | "learner" | "voter";

/**
 * The roles member `id` (decimal, as raft logs it) had in each membership configuration an etcd
 * member applied, in order, without repeats. raft logs every configuration it switches to
 * ("switched to configuration voters=(…) learners=(…)") when it applies the change, so the log
 * holds every stage, however short, unlike a member list sampled now and then.
 */
function rolesInLog(log: string, id: string): Role[] {
  const roles: Role[] = [];
  for (const match of log.matchAll(
    /switched to configuration voters=\(([^)]*)\)(?: learners=\(([^)]*)\))?/g,
  )) {
    const voters = (match[1] ?? "").split(" ");
    const learners = (match[2] ?? "").split(" ");
    const role: Role = voters.includes(id) ? "voter" : learners.includes(id) ? "learner" : "absent";
    if (roles.at(-1) !== role) roles.push(role);
  }
  return roles;
}

/** Runs the boot script as `node` would, but with IMDS handing out its role's key with a wrong secret. */
async function bootWithWrongSecret(node: SimulatedNode, nodeApiUrl: string) {
  const o = node.options;
  const imds = new ImdsServer({
    instanceId: o.instanceId,
    privateIp: o.privateIp,
    region: o.region,
    availabilityZone: o.availabilityZone,
    roleName: o.roleName,
    accountId: o.account,
    credentials: {
      AccessKeyId: o.credentials.accessKeyId,
      SecretAccessKey: Buffer.from("not the secret the function URL knows").toString("base64"),
      Token: o.credentials.sessionToken,
      Expiration: "2099-01-01T00:00:00Z",
    },
  });
  const root = await mkdtemp(join(tmpdir(), "etcd-asg-boot-join-"));
  await imds.start({ host: o.privateIp });
  try {
    const env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: root,
      TMPDIR: root,
      ETCD_ASG_NODE_API_URL: nodeApiUrl,
      ETCD_ASG_IMDS_ENDPOINT: imds.endpoint,
      ETCD_ASG_DATA_DIR: join(root, "data"),
      ETCD_ASG_DROPIN_DIR: join(root, "systemd"),
      ETCD_ASG_DEADLINE_SECONDS: "30",
    };
    const result = await runBash([SCRIPT, "-o", "flags"], env, root);
    return { ...result, written: await readdir(root) };
  } finally {
    await imds.stop();
    await rm(root, { recursive: true, force: true });
  }
}

test("the boot script joins a running 3-member cluster as a learner and is promoted", async (t) => {
  const sim = await startSimulator(t, { size: 3 });
  await sim.waitConverged(120_000);
  const founders = sim.instances().map((i) => i.id);

  // The group follows the cluster size: two instances launch, and join one at a time.
  await sim.setClusterSize(5);
  await sim.waitConverged(120_000);
  const joiner = sim.instances().find((i) => !founders.includes(i.id));
  assert.ok(joiner, "a fourth instance launched");
  const node = sim.node(joiner.id);
  await sim.waitFor("the boot script to finish", () => node.bootState !== "booting");

  const bootLog = readFileSync(node.bootLog, "utf8");
  assert.equal(node.bootExitCode, 0, bootLog);
  assert.match(bootLog, /decision: learner/);
  assert.match(bootLog, new RegExp(`the node API reports ${joiner.id} as a member`));
  const dropin = readFileSync(`${node.options.root}/systemd/etcd.service.d/20-etcd-asg.conf`, "utf8");
  assert.match(dropin, /ETCD_INITIAL_CLUSTER_STATE=existing/);
  const member = (await sim.members()).find((m) => m.name === joiner.id);
  assert.ok(member, `${joiner.id} is a member`);
  assert.equal(member.isLearner, false, "a voter now");

  // Each founder applied the joiner's add as a learner, then its promotion, and nothing else.
  const id = BigInt(member.id).toString();
  for (const founder of founders) {
    const log = () => readFileSync(sim.node(founder).etcdLog, "utf8");
    await sim.waitFor(
      `${founder}'s etcd to apply the promotion`,
      () => rolesInLog(log(), id).at(-1) === "voter",
    );
    assert.deepEqual(
      rolesInLog(log(), id),
      ["absent", "learner", "voter"],
      `membership configurations ${founder}'s etcd applied, for member ${id} (${joiner.id})`,
    );
  }

  const memberList = async () => (await sim.members()).map((m) => `${m.id} ${m.name} ${m.isLearner}`).sort();
  const before = await memberList();
  const refused = await bootWithWrongSecret(node, sim.nodeApiUrl);
  assert.equal(refused.code, 3, refused.stderr);
  assert.match(
    refused.stderr,
    new RegExp(`the node API refused the configuration request for instance ${joiner.id} \\(403\\)`),
  );
  assert.equal(refused.stdout, "");
  assert.deepEqual(refused.written, [], "no marker, data dir or drop-in");
  assert.deepEqual(await memberList(), before, "etcd's member list is unchanged");
  await assertEndState(sim);
});
