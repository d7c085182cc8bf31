// End to end on the simulator: the cluster's client name (the stack's ClientDnsName output), resolved
// through the simulator's DNS server on the block's .2 answering from the template's private hosted
// zone, lists exactly the started voters after bootstrap, a scale-out 3→5, the replacement of a
// killed instance and a scale-in 5→3, with etcd's SRV discovery records naming the same members. A
// client connected by name (mutual TLS verifying the server certificate against the name, addresses
// re-resolved only when a request fails) rides through the replacement of the member it was talking
// to with at most one failed request and one reconnect.
import assert from "node:assert/strict";
import { Resolver } from "node:dns/promises";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Etcd3 } from "etcd3";
import type { EtcdTls } from "../../local/simulator/operator-identity";
import type { Simulator } from "../../local/simulator/simulator";
import { startSimulator } from "./simulator-bed";

/** What the name resolves to, and the members its SRV records name, both sorted. */
async function resolved(resolver: Resolver, name: string): Promise<{ ips: string[]; srv: string[] }> {
  const [ips, srv] = await Promise.all([
    resolver.resolve4(name).catch(() => []),
    resolver.resolveSrv(`_etcd-client-ssl._tcp.${name}`).catch(() => []),
  ]);
  return { ips: ips.sort(), srv: srv.map((r) => `${r.name}:${r.port}`).sort() };
}

/** The started voters as the name should list them (every member has started once converged). */
async function voters(sim: Simulator, name: string): Promise<{ ips: string[]; srv: string[] }> {
  const members = (await sim.members()).filter((m) => !m.isLearner);
  return {
    ips: members.map((m) => new URL(m.peerUrls[0] ?? "").hostname).sort(),
    srv: members.map((m) => `${m.name}.${name}:2379`).sort(),
  };
}

async function assertNameListsVoters(sim: Simulator, resolver: Resolver, name: string, when: string) {
  await sim.waitConverged(120_000);
  let last: unknown;
  await sim
    .waitFor(
      `${name} to list the started voters ${when}`,
      async () => {
        const [got, want] = await Promise.all([resolved(resolver, name), voters(sim, name)]);
        last = { got, want };
        return JSON.stringify(got) === JSON.stringify(want);
      },
      15_000,
    )
    .catch((error) => {
      throw new Error(`${String(error)}: ${JSON.stringify(last)}`);
    });
}

/** An etcd client of the name: TLS verifies the certificates against it, the addresses are the name's. */
function clientByName(name: string, ips: readonly string[], tls: EtcdTls): Etcd3 {
  return new Etcd3({
    hosts: ips.map((ip) => `https://${ip}:2379`),
    credentials: {
      rootCertificate: Buffer.from(tls.ca),
      certChain: Buffer.from(tls.cert),
      privateKey: Buffer.from(tls.key),
    },
    grpcOptions: { "grpc.ssl_target_name_override": name, "grpc.default_authority": name },
  });
}

test("the client name lists exactly the started voters through bootstrap, scale-out, replacement and scale-in; a client by name reconnects at most once", async (t) => {
  const sim = await startSimulator(t, { size: 3, maxSize: 6, healthCheckDelayMs: 1000 });
  const name = sim.stack.outputs.ClientDnsName ?? "";
  assert.match(name, /^etcd\.[a-z0-9-]+\.etcd\.internal$/);
  const resolver = new Resolver({ timeout: 1000, tries: 2 });
  resolver.setServers([sim.services.dns]);

  await assertNameListsVoters(sim, resolver, name, "after bootstrap");
  assert.equal((await resolved(resolver, name)).ips.length, 3);

  await sim.setClusterSize(5);
  await assertNameListsVoters(sim, resolver, name, "after the scale-out to 5");
  assert.equal((await resolved(resolver, name)).ips.length, 5);

  await t.test(
    "a client by name rides through the replacement of its member with one reconnect",
    async (st) => {
      const tls = await sim.etcdTls();
      const victim = sim.instances("InService")[0];
      assert.ok(victim);
      const victimIp = victim.privateIp;
      // The worst case: the client talks to the member about to go.
      let client = clientByName(name, [victimIp], tls);
      st.after(() => client.close());
      await client.put("by-name").value("0").exec();
      // TLS checks the name: a client expecting another name is refused by every member.
      const stranger = clientByName(`other.${name}`, [victimIp], tls);
      await assert.rejects(stranger.put("by-name").value("x").exec());
      stranger.close();
      let failures = 0;
      let reconnects = 0;
      let writes = 0;
      let firstFailureAt: number | undefined;
      let backAt: number | undefined;
      let running = true;
      const loop = (async () => {
        while (running) {
          try {
            await client
              .put("by-name")
              .value(String(writes))
              .options({ deadline: new Date(Date.now() + 3000) })
              .exec();
            writes += 1;
            if (firstFailureAt !== undefined) backAt ??= Date.now();
          } catch {
            failures += 1;
            firstFailureAt ??= Date.now();
            // One reconnect, re-resolving the name; a later failure (an election after the victim
            // left, or the victim's address still listed until its member is removed) is retried on
            // the same client, which must get through without another reconnect.
            if (reconnects === 0) {
              client.close();
              client = clientByName(name, (await resolved(resolver, name)).ips, tls);
              reconnects += 1;
            }
          }
          await sleep(100);
        }
      })();
      await sim.killInstance(victim.id);
      await sim.waitFor(
        "the killed instance to leave",
        () => !sim.instances().some((i) => i.id === victim.id),
        90_000,
      );
      await assertNameListsVoters(sim, resolver, name, "after the replacement");
      const before = writes;
      await sim.waitFor("writes by name to go on", () => writes >= before + 5, 10_000);
      running = false;
      await loop;
      // Pinned to the victim, the client must fail and reconnect once, and then write on.
      assert.equal(reconnects, 1, `${reconnects} reconnects`);
      assert.ok(failures >= 1 && failures <= 3, `${failures} failed requests`);
      st.diagnostic(
        `writes by name: ${failures} failed, back ${(backAt ?? Number.NaN) - (firstFailureAt ?? 0)} ms after the first`,
      );
    },
  );

  await sim.setClusterSize(3);
  await assertNameListsVoters(sim, resolver, name, "after the scale-in to 3");
  assert.equal((await resolved(resolver, name)).ips.length, 3);
});
