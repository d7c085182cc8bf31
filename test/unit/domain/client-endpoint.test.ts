// The client name's records: which change batch brings the zone in step with the started voters.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type ClientEndpointDecision,
  clientEndpointRecords,
  decideClientEndpoint,
  endpointVoters,
  type RecordSet,
} from "../../../lambdas/domain/client-endpoint";
import type { Member } from "../../../lambdas/domain/snapshot";
import { instanceId, ipOf, member } from "../../helpers/snapshots";

const NAME = "etcd.cluster.internal";
const TTL = 30;

/** The zone as it is when it says exactly what voters `ns` say. */
function inStep(ns: readonly number[], ttl = TTL): RecordSet[] {
  return clientEndpointRecords(NAME, ttl, endpointVoters(ns.map((n) => member(n))));
}

/** A decision as "UPSERT A etcd.cluster.internal." lines, sorted, for comparison. */
function summary(decision: ClientEndpointDecision): string[] | string {
  if (decision.kind !== "change") return decision.kind;
  return decision.changes.map((c) => `${c.action} ${c.recordSet.type} ${c.recordSet.name}`).sort();
}

const A = (n: number) => `A ${instanceId(n)}.${NAME}.`;
const NAME_A = `A ${NAME}.`;
const CLIENT_SRV = `SRV _etcd-client-ssl._tcp.${NAME}.`;
const SERVER_SRV = `SRV _etcd-server-ssl._tcp.${NAME}.`;
const all = (action: string, ns: readonly number[]) =>
  [NAME_A, CLIENT_SRV, SERVER_SRV, ...ns.map(A)].map((line) => `${action} ${line}`);

/** [behaviour, members, zone's current records, expected summary] */
const CASES: ReadonlyArray<readonly [string, readonly Member[], readonly RecordSet[], string[] | string]> = [
  [
    "writes every record set for a new cluster",
    [member(1), member(2), member(3)],
    [],
    all("UPSERT", [1, 2, 3]).sort(),
  ],
  [
    "changes nothing when the zone already says what the voters say",
    [member(1), member(2), member(3)],
    inStep([1, 2, 3]),
    "in-step",
  ],
  [
    "adds a promoted voter to the name, the SRV records and its own target",
    [member(1), member(2), member(3), member(4)],
    inStep([1, 2, 3]),
    [`UPSERT ${NAME_A}`, `UPSERT ${A(4)}`, `UPSERT ${CLIENT_SRV}`, `UPSERT ${SERVER_SRV}`].sort(),
  ],
  [
    "takes a removed voter out and deletes its target",
    [member(1), member(2)],
    inStep([1, 2, 3]),
    [`DELETE ${A(3)}`, `UPSERT ${NAME_A}`, `UPSERT ${CLIENT_SRV}`, `UPSERT ${SERVER_SRV}`].sort(),
  ],
  [
    "leaves learners out",
    [member(1), member(2), member(3), member(4, { isLearner: true })],
    inStep([1, 2, 3]),
    "in-step",
  ],
  [
    "leaves out a member that has not started",
    [member(1), member(2), member(3), member(4, { started: false, name: "", clientUrls: [] })],
    inStep([1, 2, 3]),
    "in-step",
  ],
  [
    "keeps an unhealthy started voter until it is removed",
    [member(1), member(2), member(3, { healthy: false })],
    inStep([1, 2, 3]),
    "in-step",
  ],
  [
    "keeps the last records when no voter has started",
    [member(1, { started: false, name: "" })],
    inStep([1, 2, 3]),
    "keep",
  ],
  ["keeps the last records when etcd shows no member at all", [], inStep([1, 2, 3]), "keep"],
  ["keeps the last records when only learners remain", [member(1, { isLearner: true })], inStep([1]), "keep"],
  [
    "rewrites every set when the TTL changed",
    [member(1), member(2)],
    inStep([1, 2], 300),
    all("UPSERT", [1, 2]).sort(),
  ],
  [
    "leaves the operator's records under the name alone",
    [member(1)],
    [
      ...inStep([1]),
      { name: `${NAME}.`, type: "TXT", ttl: 60, values: ['"owner=ops"'] },
      { name: `backup.${NAME}.`, type: "A", ttl: 60, values: ["10.9.9.9"] },
      { name: `_other._tcp.${NAME}.`, type: "SRV", ttl: 60, values: ["0 0 1 backup.example."] },
    ],
    "in-step",
  ],
  [
    "leaves out a voter whose name is not an instance ID (an operator's member)",
    [member(1), member(2, { name: "manual-node" })],
    inStep([1]),
    "in-step",
  ],
  [
    "leaves out a voter whose client URL names a host, not an IP",
    [member(1), member(2, { clientUrls: ["https://node-2.example:2379"] })],
    inStep([1]),
    "in-step",
  ],
];

describe("client endpoint records", () => {
  for (const [behaviour, members, current, expected] of CASES) {
    test(behaviour, () => {
      assert.deepEqual(summary(decideClientEndpoint({ name: NAME, ttl: TTL, members, current })), expected);
    });
  }

  test("the name's A record holds exactly the started voters' client IPs", () => {
    const decision = decideClientEndpoint({
      name: NAME,
      ttl: TTL,
      members: [member(2), member(1), member(3, { isLearner: true })],
      current: [],
    });
    const a =
      decision.kind === "change" ? decision.changes.find((c) => c.recordSet.name === `${NAME}.`) : undefined;
    assert.deepEqual(a?.recordSet, { name: `${NAME}.`, type: "A", ttl: TTL, values: [ipOf(1), ipOf(2)] });
  });

  test("SRV records point at each voter's own name, with the ports of its URLs", () => {
    const voter = member(1, {
      clientUrls: [`https://${ipOf(1)}:12379`],
      peerUrls: [`https://${ipOf(1)}:12380`],
    });
    const records = clientEndpointRecords(NAME, TTL, endpointVoters([voter]));
    assert.deepEqual(
      records.map((r) => [r.type, r.name, r.values]),
      [
        ["A", `${NAME}.`, [ipOf(1)]],
        ["A", `${instanceId(1)}.${NAME}.`, [ipOf(1)]],
        ["SRV", `_etcd-client-ssl._tcp.${NAME}.`, [`0 0 12379 ${instanceId(1)}.${NAME}.`]],
        ["SRV", `_etcd-server-ssl._tcp.${NAME}.`, [`0 0 12380 ${instanceId(1)}.${NAME}.`]],
      ],
    );
  });

  test("reads the zone as Route 53 writes it back: any case, any order, targets without the final dot", () => {
    const current = inStep([1, 2]).map((set) => ({
      ...set,
      name: set.name.toUpperCase(),
      values: [...set.values]
        .reverse()
        .map((v) => (set.type === "SRV" ? v.replace(/\.$/, "").toUpperCase() : v)),
    }));
    assert.equal(
      decideClientEndpoint({ name: `${NAME}.`, ttl: TTL, members: [member(1), member(2)], current }).kind,
      "in-step",
    );
  });

  test("deletes a stale target with the values the zone holds, as Route 53 requires", () => {
    const current = inStep([1, 3]).map((set) =>
      set.name === `${instanceId(3)}.${NAME}.` ? { ...set, ttl: 60, values: ["10.1.2.3"] } : set,
    );
    const decision = decideClientEndpoint({ name: NAME, ttl: TTL, members: [member(1)], current });
    const removal =
      decision.kind === "change" ? decision.changes.find((c) => c.action === "DELETE") : undefined;
    assert.deepEqual(removal?.recordSet, {
      name: `${instanceId(3)}.${NAME}.`,
      type: "A",
      ttl: 60,
      values: ["10.1.2.3"],
    });
  });

  test("a replacement on a reused IP moves the IP to the new instance's target", () => {
    const replacement = member(4, {
      clientUrls: [`http://${ipOf(3)}:2379`],
      peerUrls: [`http://${ipOf(3)}:2380`],
    });
    const decision = decideClientEndpoint({
      name: NAME,
      ttl: TTL,
      members: [member(1), member(2), replacement],
      current: inStep([1, 2, 3]),
    });
    assert.deepEqual(
      summary(decision),
      [`DELETE ${A(3)}`, `UPSERT ${A(4)}`, `UPSERT ${CLIENT_SRV}`, `UPSERT ${SERVER_SRV}`].sort(),
    );
  });
});
