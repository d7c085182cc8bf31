// etcd's check that a new member is not already one, shown on a real etcd 3.4: an initial member
// whose peer has bound its port but answers nothing waits out the check's 1 s before it starts
// raft; one whose peer's port is closed does not wait. The bench reads the wait off the log.
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { membersThatWaited, msToStartingMember } from "../../../bench/bootstrap-check";
import { EtcdProcess } from "../../helpers/etcd/process";

const loopback = () => `127.${randomInt(100, 250)}.${randomInt(1, 255)}.${randomInt(2, 255)}`;
let root = "";
before(async () => {
  root = await mkdtemp(join(tmpdir(), "etcd-asg-bootstrap-check-"));
});
after(() => rm(root, { recursive: true, force: true }));

/** Starts one initial member of {it, peer} until its log says `starting member`; returns the log file. */
async function startFirstMember(name: string, peerUrl: string): Promise<string> {
  const ip = loopback();
  const log = join(root, `${name}.log`);
  const etcd = EtcdProcess.start(
    [
      `--name=${name}`,
      `--data-dir=${join(root, name)}`,
      `--listen-client-urls=http://${ip}:2379`,
      `--advertise-client-urls=http://${ip}:2379`,
      `--listen-peer-urls=http://${ip}:2380`,
      `--initial-advertise-peer-urls=http://${ip}:2380`,
      `--initial-cluster=${name}=http://${ip}:2380,peer=${peerUrl}`,
      "--initial-cluster-state=new",
    ],
    log,
  );
  try {
    for (let waited = 0; !(await readFile(log, "utf8")).includes("starting member"); waited += 50) {
      if (waited > 15_000) throw new Error(`etcd ${name} did not reach "starting member": see ${log}`);
      await sleep(50);
    }
    return log;
  } finally {
    await etcd.kill();
  }
}

describe("etcd's bootstrap check, read off a member's log", () => {
  test("a peer bound but silent costs the check's second; a closed one costs nothing", async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    const silentIp = loopback();
    await new Promise<void>((done) => silent.listen(2380, silentIp, done));
    try {
      const waited = await startFirstMember("waits", `http://${silentIp}:2380`);
      const free = await startFirstMember("free", `http://${loopback()}:2380`);
      const [waitedMs, freeMs] = await Promise.all(
        [waited, free].map(async (f) => msToStartingMember(await readFile(f, "utf8"))),
      );
      assert.ok((waitedMs ?? 0) >= 900, `the silent peer held the check ${waitedMs} ms`);
      assert.ok((freeMs ?? Number.POSITIVE_INFINITY) < 500, `the closed peer held it ${freeMs} ms`);
      assert.equal(await membersThatWaited([waited, free, join(root, "missing.log")]), 1);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  test("a log without `starting member` has no time", () => {
    assert.equal(
      msToStartingMember("2026-12-06 13:59:44.610123 I | etcdmain: etcd Version: 3.4.23\n"),
      undefined,
    );
    assert.equal(msToStartingMember(""), undefined);
  });
});
