// The client name kept by the control plane's own flows, on a real 3-member etcd cluster formed
// through them and a local Route 53 holding the cluster's private zone: the ready flow puts a promoted
// voter in, the terminate flow takes a removed one out, and a Route 53 that fails never fails the
// membership change — it is counted, and the next reconcile pass repairs the records.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HostedZoneAdapter } from "../../lambdas/adapters/route53";
import { reconcile } from "../../lambdas/app/reconcile";
import { METRICS } from "../../lambdas/app/signals";
import type { Member } from "../../lambdas/domain/snapshot";
import { hostOf } from "../../lambdas/domain/urls";
import type { ControlPlaneBed } from "../helpers/control-plane";
import { emittedMetrics } from "../helpers/control-plane";
import {
  bootNode,
  eventOf,
  eventually,
  formedCluster,
  killMember,
  newInstance,
} from "../helpers/control-plane-flows";
import { useLocalRoute53 } from "../helpers/route53";

const local = useLocalRoute53();

/** A formed cluster whose control plane keeps `etcd.<zone>` in a fresh private zone. */
async function clusterWithName(t: Parameters<typeof formedCluster>[0]) {
  const zone = await local.newZone();
  const name = `etcd.${zone.name.replace(/\.$/, "")}`;
  const { bed, ids } = await formedCluster(t, {
    CLIENT_DNS_NAME: name,
    HOSTED_ZONE_ID: zone.id,
    AWS_ENDPOINT_URL_ROUTE_53: await endpointOf(),
  });
  return { bed, ids, name, zone: new HostedZoneAdapter(local.client(), zone.id) };
}

async function endpointOf(): Promise<string> {
  const endpoint = await local.client().config.endpoint?.();
  if (endpoint === undefined) throw new Error("the local Route 53 client has no endpoint");
  return `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`;
}

/** What the zone says at `name`: its A values and its client SRV targets, sorted. */
async function records(zone: HostedZoneAdapter, name: string): Promise<{ a: string[]; srv: string[] }> {
  const sets = await zone.recordSets(name);
  const values = (type: string, at: string) =>
    [...(sets.find((s) => s.type === type && s.name.replace(/\.$/, "") === at)?.values ?? [])].sort();
  return { a: values("A", name), srv: values("SRV", `_etcd-client-ssl._tcp.${name}`) };
}

/** The started voters as the records should show them. */
async function expected(bed: ControlPlaneBed, name: string): Promise<{ a: string[]; srv: string[] }> {
  const voters = (await bed.members()).filter((m: Member) => m.started && !m.isLearner);
  return {
    a: voters.map((m) => hostOf(m.clientUrls[0] ?? "") ?? "").sort(),
    srv: voters.map((m) => `0 0 2379 ${m.name}.${name}.`).sort(),
  };
}

describe("control plane: the client name", () => {
  test("lists the started voters after bootstrap, loses a terminated member and gains its replacement once promoted", async (t) => {
    const { bed, ids, name, zone } = await clusterWithName(t);
    assert.deepEqual(await records(zone, name), await expected(bed, name));
    assert.equal((await records(zone, name)).a.length, 3);

    const victim = ids[2] as string;
    bed.group.terminateInstance(victim, false);
    assert.equal(
      (await bed.deliver("terminate", await eventOf(bed, "terminate", victim))).status,
      "completed",
    );
    await killMember(bed, ids, victim);
    const afterRemoval = await records(zone, name);
    assert.equal(afterRemoval.a.length, 2);
    assert.deepEqual(afterRemoval, await expected(bed, name));

    const replacement = await newInstance(bed, ids);
    await bed.deliver("launch", await eventOf(bed, "launch", replacement));
    await bootNode(bed, replacement);
    const afterJoin = await records(zone, name);
    assert.equal(afterJoin.a.length, 3);
    assert.ok(afterJoin.srv.includes(`0 0 2379 ${replacement}.${name}.`));
    assert.deepEqual(afterJoin, await expected(bed, name));
  });

  test("a Route 53 failure never fails a termination: it is counted, and the next reconcile pass repairs the records", async (t) => {
    const { bed, ids, name, zone } = await clusterWithName(t);
    const victim = ids[0] as string;
    local
      .emulator()
      .injectFaults(({ operation }) =>
        operation === "ChangeResourceRecordSets" ? "server-error" : undefined,
      );
    t.after(() => local.emulator().injectFaults(undefined));
    bed.group.terminateInstance(victim, true);
    const terminate = await eventOf(bed, "terminate", victim);
    const [result, metrics] = await emittedMetrics(() => bed.deliver("terminate", terminate));
    assert.equal(result.status, "completed");
    assert.equal(metrics.filter((m) => m.name === METRICS.clientEndpointFailures).length, 1);
    await killMember(bed, ids, victim);
    assert.equal((await records(zone, name)).a.length, 3, "the removed member is still listed");

    local.emulator().injectFaults(undefined);
    const report = await eventually("a reconcile pass", async () => {
      const pass = await reconcile(bed.invocation());
      return pass.clientEndpoint === "changed" ? pass : undefined;
    });
    assert.equal(report.clientEndpoint, "changed");
    assert.deepEqual(await records(zone, name), await expected(bed, name));
    assert.equal((await reconcile(bed.invocation())).clientEndpoint, "in-step");
  });
});
