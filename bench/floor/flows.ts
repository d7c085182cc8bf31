// The baselines, timed: what the same etcd binary does when an operator with perfect knowledge runs
// it — a static `--initial-cluster`, etcd's own v2 discovery, and learner joins and replacements
// by hand (member add --learner, start, member promote once etcd says the learner is in sync).
// Each step that etcd may refuse for a passing reason (an election, a learner catching up) is
// retried every POLL_MS, as fast as an operator's script would.
import { randomBytes } from "node:crypto";
import type { Etcd3 } from "etcd3";
import { type BootstrapLogs, readBootstrapLogs } from "../etcd-logs";
import { now, retry, since } from "../measure";
import { type BenchMember, type EtcdBed, initialCluster } from "./etcd-bed";

const STEP_TIMEOUT_MS = 30_000;
/** One call's deadline: a change sent to a member that lost its leader (the one just killed) can
 * hang past etcd's own request timeout; the step is retried instead, as etcdctl's timeout would. */
const ATTEMPT_MS = 2000;
const attempt = () => ({ deadline: new Date(Date.now() + ATTEMPT_MS) });

/** A running cluster formed statically, for the join and replace baselines. */
export interface FloorCluster {
  readonly members: BenchMember[];
  readonly token: string;
}

/** Starts `size` members with a static --initial-cluster; ms from the first spawn to all healthy, and
 * what the members' etcd logs say (bench/etcd-logs.ts). */
export async function staticBootstrap(
  bed: EtcdBed,
  size: number,
): Promise<{ ms: number; cluster: FloorCluster; etcdLogs: BootstrapLogs }> {
  const members = await reserveMany(bed, size);
  const token = `bench-${randomBytes(6).toString("hex")}`;
  const flags = [
    `--initial-cluster=${initialCluster(members)}`,
    "--initial-cluster-state=new",
    `--initial-cluster-token=${token}`,
  ];
  const start = now();
  for (const member of members) bed.start(member, flags);
  await bed.waitHealthy(members);
  const ms = since(start);
  const etcdLogs = await readBootstrapLogs(members.map((member) => bed.logFile(member)));
  return { ms, cluster: { members, token }, etcdLogs };
}

/**
 * etcd's v2 discovery protocol against a local discovery store (an etcd with --enable-v2): the size
 * key is created first (what `curl https://discovery.etcd.io/new?size=N` does), then every member
 * starts with --discovery. ms from the first member's spawn to all healthy.
 */
export async function discoveryBootstrap(
  bed: EtcdBed,
  storeUrl: string,
  size: number,
): Promise<{ ms: number; members: BenchMember[] }> {
  const token = randomBytes(8).toString("hex");
  const url = `${storeUrl}/v2/keys/discovery/${token}`;
  const created = await fetch(`${url}/_config/size`, {
    method: "PUT",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `value=${size}`,
  });
  if (!created.ok) throw new Error(`discovery store answered ${created.status} to the size key`);
  const members = await reserveMany(bed, size);
  const start = now();
  for (const member of members) bed.start(member, [`--discovery=${url}`]);
  await bed.waitHealthy(members);
  return { ms: since(start), members };
}

/** member add --learner, start, member promote: ms until the new member is a healthy voter. */
export async function manualJoin(
  bed: EtcdBed,
  cluster: FloorCluster,
): Promise<{ ms: number; joined: BenchMember }> {
  const client = bed.client(cluster.members);
  const joining = await bed.reserve();
  try {
    const start = now();
    const joined = await addStartPromote(bed, client, cluster, joining);
    return { ms: since(start), joined };
  } finally {
    client.close();
  }
}

/** Removes `member` again (untimed), so the next join starts from the same cluster. */
export async function removeMember(bed: EtcdBed, cluster: FloorCluster, member: BenchMember): Promise<void> {
  const client = bed.client(cluster.members);
  try {
    const id = await memberId(client, member);
    await retry(
      `remove ${member.name}`,
      () => client.cluster.memberRemove({ ID: id }, attempt()),
      STEP_TIMEOUT_MS,
    );
    await bed.kill(member.name);
    cluster.members.splice(cluster.members.indexOf(member), 1);
  } finally {
    client.close();
  }
}

/**
 * The member `victim` was killed with -9 (before the clock starts): remove it, add a learner,
 * start it, promote it. ms until the new member is a healthy voter.
 */
export async function manualReplace(
  bed: EtcdBed,
  cluster: FloorCluster,
  victim: BenchMember,
  replacement?: BenchMember,
): Promise<number> {
  const survivors = cluster.members.filter((m) => m !== victim);
  const client = bed.client(survivors);
  const joining = replacement ?? (await bed.reserve());
  try {
    const start = now();
    const id = await retry(`find ${victim.name}`, () => memberId(client, victim), STEP_TIMEOUT_MS);
    await retry(
      `remove ${victim.name}`,
      () => client.cluster.memberRemove({ ID: id }, attempt()),
      STEP_TIMEOUT_MS,
    );
    cluster.members.splice(cluster.members.indexOf(victim), 1);
    await addStartPromote(bed, client, cluster, joining);
    return since(start);
  } finally {
    client.close();
  }
}

/**
 * An operator's rolling replacement with perfect knowledge: each original member in turn (oldest
 * first) killed, removed, and replaced by a learner started and promoted, back to back. etcd's rule
 * that every voter be connected for 5 s before an add applies here as it does to etcd-asg.
 */
export async function manualRollingReplace(bed: EtcdBed, cluster: FloorCluster): Promise<number> {
  const victims = [...cluster.members];
  const replacements = await reserveMany(bed, victims.length);
  const start = now();
  for (const [i, victim] of victims.entries()) {
    await bed.kill(victim.name);
    await manualReplace(bed, cluster, victim, replacements[i]);
  }
  return since(start);
}

async function addStartPromote(
  bed: EtcdBed,
  client: Etcd3,
  cluster: FloorCluster,
  joining: BenchMember,
): Promise<BenchMember> {
  const added = await retry(
    `add ${joining.name} as a learner`,
    () => client.cluster.memberAdd({ peerURLs: [joining.peerUrl], isLearner: true }, attempt()),
    STEP_TIMEOUT_MS,
  );
  const id = added.member?.ID;
  if (id === undefined) throw new Error(`member add of ${joining.name} returned no member ID`);
  bed.start(joining, [
    `--initial-cluster=${initialCluster([...cluster.members, joining])}`,
    "--initial-cluster-state=existing",
    `--initial-cluster-token=${cluster.token}`,
  ]);
  await bed.waitHealthy([joining]);
  await retry(
    `promote ${joining.name}`,
    () => client.cluster.memberPromote({ ID: id }, attempt()),
    STEP_TIMEOUT_MS,
  );
  cluster.members.push(joining);
  return joining;
}

/** `count` members with their certificates, reserved before a clock starts. */
async function reserveMany(bed: EtcdBed, count: number): Promise<BenchMember[]> {
  const members: BenchMember[] = [];
  for (let i = 0; i < count; i++) members.push(await bed.reserve());
  return members;
}

async function memberId(client: Etcd3, member: BenchMember): Promise<string> {
  const { members } = await client.cluster.memberList({}, attempt());
  const found = members.find((m) => m.peerURLs.includes(member.peerUrl));
  if (found === undefined) throw new Error(`${member.name} (${member.peerUrl}) is not in the member list`);
  return found.ID;
}
