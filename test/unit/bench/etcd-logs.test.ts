// What the bench reads off real etcd 3.4 logs: an initial member whose peer has bound its port but
// answers nothing waits out etcd's bootstrap check (1 s) before it starts raft, one whose peer's
// port is closed does not; a member that forms a cluster logs when it was published.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { readBootstrapLogs, readMemberLog, waitedInCheck } from "../../../bench/etcd-logs";
import { type LoopbackBlock, reserveLoopbackBlock } from "../../helpers/etcd/loopback";
import { EtcdProcess } from "../../helpers/etcd/process";

let root = "";
let block: LoopbackBlock;
let nextHost = 1;
const loopback = () => block.address(nextHost++);
before(async () => {
  root = await mkdtemp(join(tmpdir(), "etcd-asg-etcd-logs-"));
  block = reserveLoopbackBlock();
});
after(async () => {
  block.release();
  await rm(root, { recursive: true, force: true });
});

/** Starts an initial member of itself and `peerUrl` (alone when none) until its log holds `until`. */
async function startMember(name: string, peerUrl: string | undefined, until: string): Promise<string> {
  const ip = loopback();
  const log = join(root, `${name}.log`);
  const own = `${name}=http://${ip}:2380`;
  const etcd = EtcdProcess.start(
    [
      `--name=${name}`,
      `--data-dir=${join(root, name)}`,
      `--listen-client-urls=http://${ip}:2379`,
      `--advertise-client-urls=http://${ip}:2379`,
      `--listen-peer-urls=http://${ip}:2380`,
      `--initial-advertise-peer-urls=http://${ip}:2380`,
      `--initial-cluster=${peerUrl === undefined ? own : `${own},peer=${peerUrl}`}`,
      "--initial-cluster-state=new",
    ],
    log,
  );
  try {
    for (let waited = 0; !(await readFile(log, "utf8")).includes(until); waited += 50) {
      if (waited > 15_000) throw new Error(`etcd ${name} did not log "${until}": see ${log}`);
      await sleep(50);
    }
    return log;
  } finally {
    await etcd.kill();
  }
}

const memberLog = async (file: string) => readMemberLog(await readFile(file, "utf8"));

describe("etcd's logs of a bootstrap", () => {
  test("a peer bound but silent holds the bootstrap check a second; a closed one does not", async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    const silentIp = loopback();
    await new Promise<void>((done) => silent.listen(2380, silentIp, done));
    try {
      const waits = await startMember("waits", `http://${silentIp}:2380`, "starting member");
      const free = await startMember("free", `http://${loopback()}:2380`, "starting member");
      const [held, notHeld] = await Promise.all([memberLog(waits), memberLog(free)]);
      const ms = (m: typeof held) => (m.startingMemberAt ?? Number.NaN) - (m.startedAt ?? Number.NaN);
      assert.ok(ms(held) >= 900, `the silent peer held the check ${ms(held)} ms`);
      assert.ok(ms(notHeld) < 500, `the closed peer held it ${ms(notHeld)} ms`);
      assert.deepEqual([waitedInCheck(held), waitedInCheck(notHeld)], [true, false]);
      const logs = await readBootstrapLogs([waits, free, join(root, "missing.log")]);
      assert.deepEqual(logs, { checkWaits: 1, formationMs: undefined }, "neither formed a cluster");
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  test("a member that forms its cluster is published after its start", async () => {
    const alone = await startMember("alone", undefined, "etcdserver: published");
    const { formationMs, checkWaits } = await readBootstrapLogs([alone]);
    assert.equal(checkWaits, 0);
    assert.ok(
      formationMs !== undefined && formationMs >= 0 && formationMs < 10_000,
      `formation ${formationMs} ms`,
    );
  });

  test("a log without those lines has no times", () => {
    assert.deepEqual(readMemberLog("2026-12-06 13:59:44.610123 I | etcdmain: etcd Version: 3.4.23\n"), {
      startedAt: Date.parse("2026-12-06T13:59:44.610Z"),
      startingMemberAt: undefined,
      publishedAt: undefined,
    });
    assert.equal(readMemberLog("").startedAt, undefined);
  });
});
