// The control plane's side of the client name against the local Route 53 through the real SDK: the
// adapter reads the records under the name (across pages, not past it), applies the engine's
// decisions until the zone is in step, follows a change to INSYNC, and translates Route 53's
// failures into typed errors, retryable or not.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ChangeResourceRecordSetsCommand, Route53Client } from "@aws-sdk/client-route-53";
import { AwsRequestError, AwsThrottledError, AwsUnavailableError } from "../../lambdas/adapters/aws";
import {
  HostedZoneAdapter,
  HostedZoneNotFoundError,
  InvalidChangeBatchError,
} from "../../lambdas/adapters/route53";
import { decideClientEndpoint } from "../../lambdas/domain/client-endpoint";
import { isRetryable } from "../../lambdas/errors";
import { Route53Emulator, route53ErrorResponse } from "../../local/route53/server";
import { useLocalRoute53 } from "../helpers/route53";
import { instanceId, ipOf, member } from "../helpers/snapshots";

const SYNC_MS = 100;
const TTL = 30;

let deny = false;
const local = useLocalRoute53({
  syncDelayMs: SYNC_MS,
  authorize: (request) =>
    deny
      ? route53ErrorResponse("AccessDenied", `not authorized to perform: ${request.action}`, 403)
      : undefined,
});

async function newZone(): Promise<{ zone: HostedZoneAdapter; zoneName: string; name: string }> {
  const created = await local.newZone();
  const zoneName = created.name.replace(/\.$/, "");
  return { zone: new HostedZoneAdapter(local.client(), created.id), zoneName, name: `etcd.${zoneName}` };
}

/** Reads, decides and applies until the engine says the zone is in step; returns the batches. */
async function sync(
  zone: HostedZoneAdapter,
  name: string,
  members: ReturnType<typeof member>[],
): Promise<number> {
  for (let batches = 0; batches < 5; batches++) {
    const decision = decideClientEndpoint({ name, ttl: TTL, members, current: await zone.recordSets(name) });
    if (decision.kind !== "change") return batches;
    await zone.apply(decision.changes, decision.reason);
  }
  throw new Error("the zone never got in step");
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("the call succeeded");
}

describe("client name records through the Route 53 adapter", () => {
  test("one batch brings a new zone in step with the started voters, and the next read says so", async () => {
    const { zone, name } = await newZone();
    assert.equal(
      await sync(zone, name, [member(1), member(2), member(3), member(4, { isLearner: true })]),
      1,
    );
    const sets = await zone.recordSets(name);
    assert.deepEqual(
      sets.map((s) => `${s.type} ${s.name} ${s.values.join(",")}`),
      [
        `A ${name}. ${[1, 2, 3].map(ipOf).join(",")}`,
        `SRV _etcd-client-ssl._tcp.${name}. ${[1, 2, 3].map((n) => `0 0 2379 ${instanceId(n)}.${name}.`).join(",")}`,
        `SRV _etcd-server-ssl._tcp.${name}. ${[1, 2, 3].map((n) => `0 0 2380 ${instanceId(n)}.${name}.`).join(",")}`,
        ...[1, 2, 3].map((n) => `A ${instanceId(n)}.${name}. ${ipOf(n)}`),
      ],
    );
  });

  test("a removed voter leaves the name and its target is deleted", async () => {
    const { zone, name } = await newZone();
    await sync(zone, name, [member(1), member(2), member(3)]);
    assert.equal(await sync(zone, name, [member(1), member(3)]), 1);
    const sets = await zone.recordSets(name);
    assert.deepEqual(sets.find((s) => s.name === `${name}.` && s.type === "A")?.values, [ipOf(1), ipOf(3)]);
    assert.equal(sets.filter((s) => s.name.startsWith("i-")).length, 2);
  });

  test("a change is PENDING until Route 53 says INSYNC", async () => {
    const { zone, name } = await newZone();
    const decision = decideClientEndpoint({ name, ttl: TTL, members: [member(1)], current: [] });
    assert.equal(decision.kind, "change");
    const submitted = await zone.apply(decision.kind === "change" ? decision.changes : []);
    assert.equal(submitted.status, "PENDING");
    await new Promise((resolve) => setTimeout(resolve, SYNC_MS * 2));
    assert.deepEqual(await zone.change(submitted.id), { id: submitted.id, status: "INSYNC" });
  });

  test("reads every record under the name across pages, and nothing beside it", async () => {
    const { zone, zoneName, name } = await newZone();
    await sync(zone, name, [member(1)]);
    const host = (label: string, value = "10.1.0.1") => ({
      Action: "CREATE" as const,
      ResourceRecordSet: {
        Name: `${label}.${zoneName}`,
        Type: "A" as const,
        TTL: 60,
        ResourceRecords: [{ Value: value }],
      },
    });
    // 320 records of an operator under the name (two pages and more), and neighbours on both sides
    // in either listing order: labels compared one by one, or the reversed names as strings.
    const neighbours = ["a", "etcc", "etcd-x", "etcd-x.y", "etcdz", "f", "zz.etcd-"];
    await local.client().send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zone.hostedZoneId,
        ChangeBatch: {
          Changes: [
            ...Array.from({ length: 320 }, (_, i) => host(`h${i}.etcd`)),
            ...neighbours.map((n) => host(n)),
          ],
        },
      }),
    );
    const sets = await zone.recordSets(name);
    assert.equal(sets.length, 320 + 4);
    assert.ok(sets.every((s) => s.name === `${name}.` || s.name.endsWith(`.${name}.`)));
    // The engine leaves the operator's records alone.
    assert.equal(
      decideClientEndpoint({ name, ttl: TTL, members: [member(1)], current: sets }).kind,
      "in-step",
    );
  });
});

describe("Route 53 failures through the adapter", () => {
  /** [failure, how to provoke it, what the adapter throws, retryable] */
  const cases: ReadonlyArray<
    readonly [
      string,
      (zone: HostedZoneAdapter) => Promise<unknown>,
      abstract new (...args: never[]) => Error,
      boolean,
    ]
  > = [
    [
      "Throttling is a retryable AwsThrottledError",
      (zone) => withFault("throttling", () => zone.recordSets("etcd.x.internal")),
      AwsThrottledError,
      true,
    ],
    [
      "PriorRequestNotComplete is a retryable AwsThrottledError",
      (zone) => withFault("prior-request-not-complete", () => zone.apply([])),
      AwsThrottledError,
      true,
    ],
    [
      "a 5xx is a retryable AwsUnavailableError",
      (zone) => withFault("server-error", () => zone.recordSets("etcd.x.internal")),
      AwsUnavailableError,
      true,
    ],
    [
      "a refused batch is an InvalidChangeBatchError, not retryable",
      (zone) =>
        zone.apply([
          {
            action: "DELETE",
            recordSet: { name: "gone.nowhere.internal", type: "A", ttl: 30, values: ["10.0.0.1"] },
          },
        ]),
      InvalidChangeBatchError,
      false,
    ],
    [
      "an unknown zone is a HostedZoneNotFoundError, not retryable",
      () => new HostedZoneAdapter(local.client(), "/hostedzone/ZNOTAZONE").recordSets("etcd.x.internal"),
      HostedZoneNotFoundError,
      false,
    ],
    [
      "AccessDenied is an AwsRequestError, not retryable",
      async (zone) => {
        deny = true;
        try {
          await zone.recordSets("etcd.x.internal");
        } finally {
          deny = false;
        }
      },
      AwsRequestError,
      false,
    ],
  ];

  for (const [what, provoke, type, retryable] of cases) {
    test(what, async () => {
      const { zone } = await newZone();
      const error = await failure(provoke(zone));
      assert.ok(error instanceof type, `got ${String(error)}`);
      assert.equal(isRetryable(error), retryable);
    });
  }

  test("a refused batch carries Route 53's reasons", async () => {
    const { zone, zoneName } = await newZone();
    const error = await failure(
      zone.apply([
        {
          action: "DELETE",
          recordSet: { name: `gone.${zoneName}`, type: "A", ttl: 30, values: ["10.0.0.1"] },
        },
      ]),
    );
    assert.ok(error instanceof InvalidChangeBatchError);
    assert.deepEqual(error.messages, [
      `Tried to delete resource record set [name='gone.${zoneName}.', type='A'] but it was not found`,
    ]);
  });

  test("no answer at all is a retryable AwsUnavailableError", async () => {
    const closed = new Route53Emulator();
    const endpoint = await closed.start();
    await closed.stop();
    const unreachable = new Route53Client({
      endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts: 1,
    });
    try {
      const error = await failure(new HostedZoneAdapter(unreachable, "ZANY").recordSets("etcd.x.internal"));
      assert.ok(error instanceof AwsUnavailableError, `got ${String(error)}`);
      assert.equal(isRetryable(error), true);
    } finally {
      unreachable.destroy();
    }
  });
});

async function withFault<T>(
  fault: "throttling" | "prior-request-not-complete" | "server-error",
  call: () => Promise<T>,
): Promise<T> {
  local.emulator().injectFaults(() => fault);
  try {
    return await call();
  } finally {
    local.emulator().injectFaults(undefined);
  }
}
