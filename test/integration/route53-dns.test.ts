// The client name as a client sees it: records the control plane wrote through the Route 53 adapter,
// served by the simulator's DNS server on a 127.0.X.Y address, resolved with node's dns.Resolver
// (A, SRV, TTLs, NXDOMAIN, NODATA; answers that change once Route 53 says INSYNC and not before),
// over TCP too, and a TLS connection by name that verifies the name against a certificate carrying
// it as a SAN (a throwaway CA made with openssl).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { Resolver } from "node:dns/promises";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connect, createServer, type Server } from "node:tls";
import dns2 from "dns2";
import { HostedZoneAdapter } from "../../lambdas/adapters/route53";
import { decideClientEndpoint } from "../../lambdas/domain/client-endpoint";
import type { Member } from "../../lambdas/domain/snapshot";
import { LocalDnsServer } from "../../local/dns/server";
import { type LoopbackBlock, reserveLoopbackBlock } from "../helpers/etcd/loopback";
import { useLocalRoute53 } from "../helpers/route53";
import { instanceId, member } from "../helpers/snapshots";

const ZONE = "cluster.internal";
const NAME = `etcd.${ZONE}`;
const TTL = 30;
/** Long enough that a query right after a change surely sees the zone before it. */
const SYNC_MS = 500;

let block: LoopbackBlock;
let dns: LocalDnsServer;
let zone: HostedZoneAdapter;
const local = useLocalRoute53({ syncDelayMs: SYNC_MS });

/** Voter n runs on 127.0.X.(10+n) in this test's block. */
const voter = (n: number): Member => {
  const ip = block.address(10 + n);
  return member(n, { clientUrls: [`https://${ip}:2379`], peerUrls: [`https://${ip}:2380`] });
};

before(async () => {
  block = reserveLoopbackBlock();
  dns = new LocalDnsServer({ zones: local.emulator().store, host: block.address(53) });
  await dns.start();
  zone = new HostedZoneAdapter(local.client(), (await local.newZone(ZONE)).id);
  await syncAndWait([voter(1), voter(2), voter(3)]);
});

after(async () => {
  await dns?.stop();
  block?.release();
});

/** Applies the engine's decision for these members and returns the change, not waiting for it. */
async function sync(members: readonly Member[]): Promise<string> {
  const decision = decideClientEndpoint({
    name: NAME,
    ttl: TTL,
    members,
    current: await zone.recordSets(NAME),
  });
  assert.equal(decision.kind, "change");
  return (await zone.apply(decision.kind === "change" ? decision.changes : [])).id;
}

async function syncAndWait(members: readonly Member[]): Promise<void> {
  const id = await sync(members);
  const deadline = Date.now() + 10_000;
  while ((await zone.change(id)).status !== "INSYNC") {
    assert.ok(Date.now() < deadline, "the change never got INSYNC");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A fresh resolver per lookup, so no answer comes from a resolver's cache. */
function resolver(): Resolver {
  const r = new Resolver({ timeout: 2000, tries: 1 });
  r.setServers([dns.address]);
  return r;
}

async function code(lookup: Promise<unknown>): Promise<string> {
  try {
    await lookup;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
  return "answered";
}

const ips = (...ns: number[]) => ns.map((n) => block.address(10 + n)).sort();

describe("DNS answers for the client name", () => {
  test("the name's A records are the started voters' client IPs, with the records' TTL", async () => {
    const answers = await resolver().resolve4(NAME, { ttl: true });
    assert.deepEqual(answers.map((a) => a.address).sort(), ips(1, 2, 3));
    assert.ok(answers.every((a) => a.ttl === TTL));
  });

  test("etcd's SRV records name each voter, whose own name resolves to its IP", async () => {
    const client = await resolver().resolveSrv(`_etcd-client-ssl._tcp.${NAME}`);
    assert.deepEqual(
      client.map((s) => `${s.name}:${s.port}`).sort(),
      [1, 2, 3].map((n) => `${instanceId(n)}.${NAME}:2379`),
    );
    const server = await resolver().resolveSrv(`_etcd-server-ssl._tcp.${NAME}`);
    assert.deepEqual(
      server.map((s) => s.port),
      [2380, 2380, 2380],
    );
    assert.deepEqual(await resolver().resolve4(`${instanceId(2)}.${NAME}`), ips(2));
  });

  test("names are matched without regard to case", async () => {
    assert.deepEqual((await resolver().resolve4(NAME.toUpperCase())).sort(), ips(1, 2, 3));
  });

  test("a name the zone does not have is NXDOMAIN; a type a name does not have is NODATA", async () => {
    assert.equal(await code(resolver().resolve4(`nope.${NAME}`)), "ENOTFOUND");
    assert.equal(await code(resolver().resolveSrv(NAME)), "ENODATA");
    // `_tcp.<name>` holds no record but has records below it: it exists, with no data.
    assert.equal(await code(resolver().resolve4(`_tcp.${NAME}`)), "ENODATA");
  });

  test("a name outside every zone is refused: the server does not recurse", async () => {
    assert.equal(await code(resolver().resolve4("example.com")), "EREFUSED");
  });

  test("answers over TCP as over UDP", async () => {
    const resolve = dns2.TCPClient({ dns: block.address(53), port: dns.port });
    const answer = await resolve(NAME, "A");
    assert.deepEqual(answer.answers.map((a) => a.address).sort(), ips(1, 2, 3));
  });

  test("a removal shows in DNS once Route 53 says INSYNC, and not before", async () => {
    const id = await sync([voter(1), voter(2)]);
    assert.equal((await zone.change(id)).status, "PENDING");
    assert.deepEqual((await resolver().resolve4(NAME)).sort(), ips(1, 2, 3));
    const deadline = Date.now() + 10_000;
    while ((await zone.change(id)).status !== "INSYNC") {
      assert.ok(Date.now() < deadline, "the change never got INSYNC");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual((await resolver().resolve4(NAME)).sort(), ips(1, 2));
    assert.equal(await code(resolver().resolve4(`${instanceId(3)}.${NAME}`)), "ENOTFOUND");
    await syncAndWait([voter(1), voter(2), voter(3)]);
  });
});

describe("a TLS connection by name", () => {
  let dir: string;
  let ca: string;
  let tlsPort = 0;
  const servers: Server[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "etcd-asg-dns-tls-"));
    const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(
      "req",
      "-x509",
      ...ec,
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-days",
      "1",
      "-subj",
      "/CN=etcd-asg test CA",
    );
    openssl("req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=etcd");
    // The cluster's name and each voter's own name (the SRV targets), as the control plane would
    // give a server certificate.
    const sans = [NAME, ...[1, 2, 3].map((n) => `${instanceId(n)}.${NAME}`)].map((n) => `DNS:${n}`).join(",");
    writeFileSync(
      join(dir, "server.ext"),
      `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans}\n`,
    );
    openssl(
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.crt",
      "-days",
      "1",
      "-extfile",
      "server.ext",
    );
    ca = readFileSync(join(dir, "ca.crt"), "utf8");
    const key = readFileSync(join(dir, "server.key"));
    const cert = readFileSync(join(dir, "server.crt"));
    // A TLS server on each voter's IP, on one port, standing in for etcd's client port.
    for (const n of [1, 2, 3]) {
      const server = createServer({ key, cert }, (socket) => socket.end("ok\n"));
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(tlsPort, block.address(10 + n), resolve);
      });
      tlsPort = (server.address() as AddressInfo).port;
      servers.push(server);
    }
  });

  after(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Connects to `ip` presenting `servername`; resolves to what the server sent, or the TLS error. */
  function fetchByName(ip: string, servername: string): Promise<string> {
    return new Promise((resolve) => {
      const socket = connect({ host: ip, port: tlsPort, servername, ca });
      let data = "";
      socket.on("data", (chunk) => {
        data += chunk;
      });
      socket.on("end", () => resolve(socket.authorized ? data.trim() : "unauthorized"));
      socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
  }

  test("a client that resolves the name connects to a voter and verifies the name", async () => {
    const [ip] = await resolver().resolve4(NAME);
    assert.ok(ip !== undefined);
    assert.equal(await fetchByName(ip, NAME), "ok");
  });

  test("a client that follows an SRV record verifies the voter's own name", async () => {
    const [srv] = await resolver().resolveSrv(`_etcd-client-ssl._tcp.${NAME}`);
    assert.ok(srv !== undefined);
    const [ip] = await resolver().resolve4(srv.name);
    assert.ok(ip !== undefined);
    assert.equal(await fetchByName(ip, srv.name), "ok");
  });

  test("a name the certificate does not carry is refused", async () => {
    const [ip] = await resolver().resolve4(NAME);
    assert.equal(await fetchByName(ip as string, `other.${ZONE}`), "ERR_TLS_CERT_ALTNAME_INVALID");
  });
});
