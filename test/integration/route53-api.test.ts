// The local Route 53 driven by the real @aws-sdk/client-route-53: hosted zones, change batches with
// Route 53's validation and errors, ListResourceRecordSets' order and paging, PENDING → INSYNC,
// the authorize hook and injected faults.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type Change,
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
} from "@aws-sdk/client-route-53";
import { type Route53Request, route53ErrorResponse } from "../../local/route53/server";
import { useLocalRoute53 } from "../helpers/route53";

const SYNC_MS = 150;

let refuse: ((request: Route53Request) => boolean) | undefined;
const seen: Route53Request[] = [];
const local = useLocalRoute53({
  syncDelayMs: SYNC_MS,
  authorize: (request) => {
    seen.push(request);
    return refuse?.(request)
      ? route53ErrorResponse(
          "AccessDenied",
          `not authorized to perform: ${request.action} on resource: ${request.resource}`,
          403,
        )
      : undefined;
  },
});
const newZone = (name?: string) => local.newZone(name);

const a = (name: string, ...values: string[]): ResourceRecordSet => ({
  Name: name,
  Type: "A",
  TTL: 60,
  ResourceRecords: values.map((Value) => ({ Value })),
});

function change(zoneId: string, ...changes: Change[]) {
  return local
    .client()
    .send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: changes } }));
}

async function records(zoneId: string): Promise<string[]> {
  const page = await local.client().send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  return (page.ResourceRecordSets ?? []).map(
    (set) => `${set.Name} ${set.Type} ${set.ResourceRecords?.map((r) => r.Value).join(",")}`,
  );
}

/** The refusal's name and message. */
async function refusal(
  promise: Promise<unknown>,
): Promise<{ name: string; message: string; status: number | undefined }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error("the call succeeded");
}

describe("hosted zones", () => {
  test("creates a private zone with its SOA and NS records, PENDING then INSYNC", async () => {
    const created = await local.client().send(
      new CreateHostedZoneCommand({
        Name: "Cluster.Example.internal",
        CallerReference: "create-private",
        VPC: { VPCRegion: "eu-west-1", VPCId: "vpc-1234" },
        HostedZoneConfig: { PrivateZone: true },
      }),
    );
    assert.match(created.HostedZone?.Id ?? "", /^\/hostedzone\/Z[0-9A-Z]+$/);
    assert.equal(created.HostedZone?.Name, "cluster.example.internal.");
    assert.equal(created.HostedZone?.Config?.PrivateZone, true);
    assert.equal(created.HostedZone?.ResourceRecordSetCount, 2);
    assert.equal(
      created.Location,
      `https://route53.amazonaws.com/2013-04-01/hostedzone/${created.HostedZone?.Id?.slice(12)}`,
    );
    assert.deepEqual(created.VPC, { VPCRegion: "eu-west-1", VPCId: "vpc-1234" });
    assert.equal(created.ChangeInfo?.Status, "PENDING");
    const id = created.HostedZone?.Id ?? "";
    const got = await local.client().send(new GetHostedZoneCommand({ Id: id }));
    assert.deepEqual(got.VPCs, [{ VPCRegion: "eu-west-1", VPCId: "vpc-1234" }]);
    assert.deepEqual(
      (await records(id)).map((r) => r.split(" ").slice(0, 2).join(" ")),
      ["cluster.example.internal. NS", "cluster.example.internal. SOA"],
    );
    await new Promise((resolve) => setTimeout(resolve, SYNC_MS * 2));
    const synced = await local.client().send(new GetChangeCommand({ Id: created.ChangeInfo?.Id }));
    assert.equal(synced.ChangeInfo?.Status, "INSYNC");
  });

  test("refuses a second zone with the same caller reference", async () => {
    const input = {
      Name: "dup.internal",
      CallerReference: "dup",
      VPC: { VPCRegion: "us-east-1" as const, VPCId: "vpc-1" },
    };
    await local.client().send(new CreateHostedZoneCommand(input));
    const error = await refusal(local.client().send(new CreateHostedZoneCommand(input)));
    assert.deepEqual([error.name, error.status], ["HostedZoneAlreadyExists", 409]);
  });

  test("refuses a private zone without a VPC", async () => {
    const error = await refusal(
      local.client().send(
        new CreateHostedZoneCommand({
          Name: "novpc.internal",
          CallerReference: "novpc",
          HostedZoneConfig: { PrivateZone: true },
        }),
      ),
    );
    assert.equal(error.name, "InvalidVPCId");
  });

  test("answers NoSuchHostedZone (404) for a zone that does not exist", async () => {
    const error = await refusal(
      local.client().send(new GetHostedZoneCommand({ Id: "/hostedzone/ZNOTAZONE" })),
    );
    assert.deepEqual(
      [error.name, error.status, error.message],
      ["NoSuchHostedZone", 404, "No hosted zone found with ID: ZNOTAZONE"],
    );
  });

  test("lists zones by name, labels reversed, from a name on, in pages", async () => {
    await newZone("b.list.test");
    await newZone("a.list.test");
    await newZone("list.test");
    const first = await local
      .client()
      .send(new ListHostedZonesByNameCommand({ DNSName: "list.test", MaxItems: 2 }));
    assert.deepEqual(
      first.HostedZones?.map((z) => z.Name),
      ["list.test.", "a.list.test."],
    );
    assert.equal(first.IsTruncated, true);
    assert.equal(first.NextDNSName, "b.list.test.");
    const second = await local.client().send(
      new ListHostedZonesByNameCommand({
        DNSName: first.NextDNSName,
        HostedZoneId: first.NextHostedZoneId,
        MaxItems: 2,
      }),
    );
    assert.equal(second.HostedZones?.[0]?.Name, "b.list.test.");
  });
});

describe("ChangeResourceRecordSets", () => {
  test("creates, upserts and deletes record sets", async () => {
    const zone = await newZone();
    const created = await change(zone.id, {
      Action: "CREATE",
      ResourceRecordSet: a(`www.${zone.name}`, "10.0.0.1"),
    });
    assert.equal(created.ChangeInfo?.Status, "PENDING");
    assert.match(created.ChangeInfo?.Id ?? "", /^\/change\/C[0-9A-Z]+$/);
    await change(zone.id, {
      Action: "UPSERT",
      ResourceRecordSet: a(`www.${zone.name}`, "10.0.0.2", "10.0.0.3"),
    });
    assert.ok((await records(zone.id)).includes(`www.${zone.name} A 10.0.0.2,10.0.0.3`));
    await change(zone.id, {
      Action: "DELETE",
      ResourceRecordSet: a(`www.${zone.name}`, "10.0.0.3", "10.0.0.2"),
    });
    assert.equal((await records(zone.id)).length, 2);
  });

  /** [refused change(s), the message Route 53 gives] */
  const refusals: ReadonlyArray<readonly [string, (zone: string) => Change[], RegExp]> = [
    [
      "creating a record set that exists",
      (z) => [
        { Action: "CREATE", ResourceRecordSet: a(`x.${z}`, "10.0.0.1") },
        { Action: "CREATE", ResourceRecordSet: a(`dup.${z}`, "10.0.0.9") },
      ],
      /Tried to create resource record set \[name='dup\.zone\d+\.internal\.', type='A'\] but it already exists/,
    ],
    [
      "deleting a record set that does not exist",
      (z) => [{ Action: "DELETE", ResourceRecordSet: a(`nope.${z}`, "10.0.0.1") }],
      /\[name='nope\..*', type='A'\] but it was not found/,
    ],
    [
      "deleting with values that are not the current ones",
      (z) => [{ Action: "DELETE", ResourceRecordSet: a(`dup.${z}`, "10.0.0.8") }],
      /but the values provided do not match the current values/,
    ],
    [
      "deleting with a TTL that is not the current one",
      (z) => [{ Action: "DELETE", ResourceRecordSet: { ...a(`dup.${z}`, "10.0.0.9"), TTL: 61 } }],
      /do not match the current values/,
    ],
    [
      "a name outside the zone",
      (_z) => [{ Action: "CREATE", ResourceRecordSet: a("www.example.com", "10.0.0.1") }],
      /RRSet with DNS name www\.example\.com\. is not permitted in zone/,
    ],
    [
      "an A value that is not an IPv4 address",
      (z) => [{ Action: "CREATE", ResourceRecordSet: a(`bad.${z}`, "10.0.0") }],
      /ARRDATAIllegalIPv4Address/,
    ],
    [
      "the same value twice",
      (z) => [{ Action: "CREATE", ResourceRecordSet: a(`twice.${z}`, "10.0.0.1", "10.0.0.1") }],
      /Duplicate Resource Record: '10\.0\.0\.1'/,
    ],
    [
      "an SRV value without four fields",
      (z) => [
        {
          Action: "CREATE",
          ResourceRecordSet: {
            Name: `_x._tcp.${z}`,
            Type: "SRV",
            TTL: 60,
            ResourceRecords: [{ Value: "0 2379 host." }],
          },
        },
      ],
      /SRVRRDATATooFewFields/,
    ],
    [
      "two changes to one record set",
      (z) => [
        { Action: "UPSERT", ResourceRecordSet: a(`two.${z}`, "10.0.0.1") },
        { Action: "UPSERT", ResourceRecordSet: a(`two.${z}`, "10.0.0.2") },
      ],
      /invalid set of changes for a resource record set 'A two\./,
    ],
    [
      "a CNAME beside other records",
      (z) => [
        {
          Action: "CREATE",
          ResourceRecordSet: {
            Name: `dup.${z}`,
            Type: "CNAME",
            TTL: 60,
            ResourceRecords: [{ Value: "x.example." }],
          },
        },
      ],
      /RRSet of type CNAME with DNS name dup\..* conflicts with other records/,
    ],
    [
      "deleting the zone's SOA",
      (z) => [
        {
          Action: "DELETE",
          ResourceRecordSet: { Name: z, Type: "SOA", TTL: 900, ResourceRecords: [{ Value: "x" }] },
        },
      ],
      /exactly one SOA record/,
    ],
  ];

  for (const [what, changes, message] of refusals) {
    test(`refuses ${what} with InvalidChangeBatch and applies nothing`, async () => {
      const zone = await newZone();
      await change(zone.id, { Action: "CREATE", ResourceRecordSet: a(`dup.${zone.name}`, "10.0.0.9") });
      const before = await records(zone.id);
      const error = await refusal(change(zone.id, ...changes(zone.name)));
      assert.deepEqual([error.name, error.status], ["InvalidChangeBatch", 400]);
      assert.match(error.message, message);
      assert.deepEqual(await records(zone.id), before);
    });
  }

  test("reports every refused change of a batch", async () => {
    const zone = await newZone();
    const error = await refusal(
      change(
        zone.id,
        { Action: "DELETE", ResourceRecordSet: a(`one.${zone.name}`, "10.0.0.1") },
        { Action: "DELETE", ResourceRecordSet: a(`two.${zone.name}`, "10.0.0.1") },
      ),
    );
    assert.match(error.message, /^\[Tried to delete .*name='one\..*, Tried to delete .*name='two\..*\]$/);
  });

  test("deletes and re-creates a record set in one batch", async () => {
    const zone = await newZone();
    await change(zone.id, { Action: "CREATE", ResourceRecordSet: a(`www.${zone.name}`, "10.0.0.1") });
    await change(
      zone.id,
      { Action: "DELETE", ResourceRecordSet: a(`www.${zone.name}`, "10.0.0.1") },
      { Action: "CREATE", ResourceRecordSet: a(`www.${zone.name}`, "10.0.0.2") },
    );
    assert.ok((await records(zone.id)).includes(`www.${zone.name} A 10.0.0.2`));
  });

  test("refuses a record set without a TTL as InvalidInput", async () => {
    const zone = await newZone();
    const error = await refusal(
      change(zone.id, {
        Action: "CREATE",
        ResourceRecordSet: { Name: `www.${zone.name}`, Type: "A", ResourceRecords: [{ Value: "10.0.0.1" }] },
      }),
    );
    assert.equal(error.name, "InvalidInput");
    assert.match(error.message, /Expected exactly one of \[AliasTarget, all of \[TTL, and ResourceRecords\]/);
  });

  test("answers NoSuchHostedZone for a change to a zone that does not exist", async () => {
    const error = await refusal(
      change("ZNOTAZONE", { Action: "CREATE", ResourceRecordSet: a("www.x.internal", "10.0.0.1") }),
    );
    assert.equal(error.name, "NoSuchHostedZone");
  });
});

describe("ListResourceRecordSets", () => {
  test("lists by name with the labels reversed, then by type, in pages", async () => {
    const zone = await newZone("order.test");
    await change(
      zone.id,
      ...["b.order.test", "a.order.test", "z.a.order.test", "order.test"].flatMap((name): Change[] => [
        {
          Action: "UPSERT",
          ResourceRecordSet: { Name: name, Type: "TXT", TTL: 60, ResourceRecords: [{ Value: '"t"' }] },
        },
        ...(name === "order.test"
          ? []
          : [{ Action: "CREATE" as const, ResourceRecordSet: a(name, "10.0.0.1") }]),
      ]),
    );
    const order: string[] = [];
    let start: { name?: string; type?: string } = {};
    let pages = 0;
    for (;;) {
      const page = await local.client().send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: zone.id,
          StartRecordName: start.name,
          StartRecordType: start.type as "A" | undefined,
          MaxItems: 3,
        }),
      );
      pages += 1;
      assert.equal(page.MaxItems, 3);
      order.push(...(page.ResourceRecordSets ?? []).map((set) => `${set.Name} ${set.Type}`));
      if (!page.IsTruncated) break;
      start = { name: page.NextRecordName, type: page.NextRecordType };
    }
    assert.deepEqual(order, [
      "order.test. NS",
      "order.test. SOA",
      "order.test. TXT",
      "a.order.test. A",
      "a.order.test. TXT",
      "z.a.order.test. A",
      "z.a.order.test. TXT",
      "b.order.test. A",
      "b.order.test. TXT",
    ]);
    assert.equal(pages, 3);
  });

  test("starts at a name (and type) that has no record", async () => {
    const zone = await newZone("start.test");
    await change(zone.id, { Action: "CREATE", ResourceRecordSet: a("m.start.test", "10.0.0.1") });
    const page = await local
      .client()
      .send(new ListResourceRecordSetsCommand({ HostedZoneId: zone.id, StartRecordName: "l.start.test" }));
    assert.deepEqual(
      page.ResourceRecordSets?.map((s) => s.Name),
      ["m.start.test."],
    );
    const typed = await local.client().send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zone.id,
        StartRecordName: "start.test",
        StartRecordType: "SOA",
      }),
    );
    assert.deepEqual(
      typed.ResourceRecordSets?.map((s) => `${s.Name} ${s.Type}`),
      ["start.test. SOA", "m.start.test. A"],
    );
  });

  test("refuses a start type without a start name", async () => {
    const zone = await newZone();
    const error = await refusal(
      local.client().send(new ListResourceRecordSetsCommand({ HostedZoneId: zone.id, StartRecordType: "A" })),
    );
    assert.equal(error.name, "InvalidInput");
  });

  test("writes a name's special characters as Route 53 does", async () => {
    const zone = await newZone();
    await change(zone.id, { Action: "CREATE", ResourceRecordSet: a(`*.WWW.${zone.name}`, "10.0.0.1") });
    assert.ok((await records(zone.id)).includes(`\\052.www.${zone.name} A 10.0.0.1`));
  });
});

describe("authorization and faults", () => {
  test("shows the authorize hook each request's action and resource, and sends its refusal", async () => {
    const zone = await newZone();
    seen.length = 0;
    refuse = (request) => request.operation === "ChangeResourceRecordSets";
    try {
      const error = await refusal(
        change(zone.id, { Action: "CREATE", ResourceRecordSet: a(`www.${zone.name}`, "10.0.0.1") }),
      );
      assert.deepEqual([error.name, error.status], ["AccessDenied", 403]);
    } finally {
      refuse = undefined;
    }
    const [request] = seen;
    assert.equal(request?.action, "route53:ChangeResourceRecordSets");
    assert.equal(request?.resource, `arn:aws:route53:::hostedzone/${zone.id.replace("/hostedzone/", "")}`);
    assert.match(request?.body.toString("utf8") ?? "", /<ChangeResourceRecordSetsRequest/);
    assert.equal((await records(zone.id)).length, 2);
  });

  test("answers injected throttling, busy-zone and server faults as Route 53 does", async () => {
    const zone = await newZone();
    const faults = ["throttling", "prior-request-not-complete", "server-error"] as const;
    const seenAs: Array<[string, number | undefined]> = [];
    for (const fault of faults) {
      local
        .emulator()
        .injectFaults((call) => (call.operation === "ChangeResourceRecordSets" ? fault : undefined));
      const error = await refusal(
        change(zone.id, { Action: "CREATE", ResourceRecordSet: a(`www.${zone.name}`, "10.0.0.1") }),
      );
      seenAs.push([error.name, error.status]);
    }
    local.emulator().injectFaults(undefined);
    assert.deepEqual(seenAs, [
      ["Throttling", 400],
      ["PriorRequestNotComplete", 400],
      ["InternalFailure", 500],
    ]);
  });
});
