// A configuration request that carries the node's CSR (POST) is answered with the configuration and,
// when it starts etcd, the node's peer and server certificates: one round trip instead of two before
// etcd starts. Issued as the certificates endpoint issues them (the caller proven to be the instance,
// the SANs the ledger's IP and never the CSR's), signed through the local KMS while the long poll
// waits. Real runtime, dynalite, emulator and KMS; openssl makes the CSRs.
import assert from "node:assert/strict";
import { createPublicKey, X509Certificate } from "node:crypto";
import { describe, test } from "node:test";
import { newKeyAndCsr } from "../../local/key-and-csr";
import { ControlPlaneBed, parseEnv } from "../helpers/control-plane";
import {
  answeredOnLastLaunch,
  askConfig,
  eventOf,
  eventually,
  formedCluster,
  newInstance,
} from "../helpers/control-plane-flows";

const CERTIFICATE_KEYS = [
  "ETCD_ASG_PEER_CERT",
  "ETCD_ASG_SERVER_CERT",
  "ETCD_ASG_PEER_CA",
  "ETCD_ASG_CLIENT_CA",
  "ETCD_ASG_RENEW_AT",
  "ETCD_ASG_NOT_AFTER",
];

function publicKeyOf(keyPem: string): string {
  return createPublicKey(keyPem).export({ type: "spki", format: "pem" }).toString();
}

async function privateIp(bed: ControlPlaneBed, instanceId: string): Promise<string> {
  const node = await bed.runtime.ledger.getNode(instanceId);
  assert.ok(node, `${instanceId} is registered`);
  return node.privateIp;
}

/** The answer's certificates: each names `instanceId` and `ip` only, holds `publicKey` and chains to its CA. */
function assertCertificatesFor(
  config: Record<string, string>,
  instanceId: string,
  ip: string,
  publicKey: string,
): void {
  const decode = (key: string) => new X509Certificate(Buffer.from(config[key] ?? "", "base64"));
  for (const [key, ca] of [
    ["ETCD_ASG_PEER_CERT", "ETCD_ASG_PEER_CA"],
    ["ETCD_ASG_SERVER_CERT", "ETCD_ASG_CLIENT_CA"],
  ] as const) {
    const certificate = decode(key);
    assert.match(certificate.subject, new RegExp(`^CN=${instanceId}$`, "m"), key);
    const sans = certificate.subjectAltName?.split(", ") ?? [];
    assert.deepEqual(
      sans.filter((san) => san.startsWith("IP Address:")),
      [`IP Address:${ip}`],
      `${key} names the node's own IP only`,
    );
    assert.ok(!sans.some((san) => san.includes("evil")), `${key} names nothing the CSR asked for`);
    assert.ok(certificate.publicKey.equals(createPublicKey(publicKey)), `${key} holds the key of the CSR`);
    assert.ok(certificate.verify(decode(ca).publicKey), `${key} is signed by ${ca}`);
  }
  assert.ok(Number(config.ETCD_ASG_RENEW_AT) <= Number(config.ETCD_ASG_NOT_AFTER));
}

describe("node API: the configuration answer carries the node's certificates", () => {
  test("a held request with the CSR answers, once the cluster is fixed, with the configuration and certificates for exactly that node", async (t) => {
    const bed = await ControlPlaneBed.start(t, { clusterSize: 3, capacity: 3 });
    const ids = await threeLaunching(bed);
    const [first, second, third] = ids;
    for (const id of [first, second]) await bed.deliver("launch", await eventOf(bed, "launch", id));
    const ip = await privateIp(bed, first);
    // It asks for the second node's address: the answer names its own only.
    const { keyPem, csrPem: csr } = newKeyAndCsr(
      first,
      `IP:${await privateIp(bed, second)},DNS:etcd.evil.example`,
    );
    const publicKey = publicKeyOf(keyPem);
    const signed = () => bed.kms.callCounts().Sign ?? 0;
    const before = signed();
    let answered = false;
    const held = askConfig(bed, first, { csr, query: { wait: "10" } }).finally(() => {
      answered = true;
    });
    // Its peer and server certificates are signed while the request waits for the decision.
    await eventually("KMS signing while the request is held", () =>
      signed() >= before + 2 ? true : undefined,
    );
    assert.equal(answered, false, "still held while only 2 of 3 are registered");
    const config = await answeredOnLastLaunch(bed, held, third);
    assert.equal(config.ETCD_NAME, first);
    assertCertificatesFor(config, first, ip, publicKey);

    const other = await askConfig(bed, second, { csr, caller: first });
    assert.equal(other.statusCode, 403, "a node may not ask for another's configuration or certificates");
    assert.doesNotMatch(other.body, /ETCD_ASG_PEER_CERT/);
  });

  test("a node the ledger does not hold yet is registered, decided and given its certificates by the same request", async (t) => {
    const bed = await ControlPlaneBed.start(t, { clusterSize: 3, capacity: 3 });
    const [first, second, third] = await threeLaunching(bed);
    for (const id of [first, second]) await bed.deliver("launch", await eventOf(bed, "launch", id));
    assert.equal(await bed.runtime.ledger.getNode(third), undefined, "its launch event is not delivered");
    const { keyPem, csrPem } = newKeyAndCsr(third);
    const answer = await askConfig(bed, third, { csr: csrPem, query: { wait: "10" } });
    assert.equal(answer.statusCode, 200, answer.body);
    const config = parseEnv(answer.body);
    assert.equal(config.ETCD_ASG_DECISION, "member");
    assertCertificatesFor(config, third, await privateIp(bed, third), publicKeyOf(keyPem));
  });

  test("an answer that starts no etcd (wait, not-a-member) and a request without a CSR carry no certificates", async (t) => {
    const { bed, ids } = await formedCluster(t);
    const [member] = ids;
    assert.ok(member);
    const old = parseEnv((await askConfig(bed, member, {})).body);
    assert.equal(old.ETCD_ASG_DECISION, "member", "a GET without a CSR is still answered");
    assert.deepEqual(
      Object.keys(old).filter((key) => CERTIFICATE_KEYS.includes(key)),
      [],
    );

    bed.group.setDesiredCapacity(4);
    const standby = await newInstance(bed, ids);
    await bed.deliver("launch", await eventOf(bed, "launch", standby));
    const outside = await askConfig(bed, standby, { csr: newKeyAndCsr(standby).csrPem });
    assert.equal(outside.statusCode, 200, outside.body);
    const config = parseEnv(outside.body);
    assert.equal(config.ETCD_ASG_DECISION, "not-a-member", "the full, healthy cluster leaves it out");
    assert.deepEqual(
      Object.keys(config).filter((key) => CERTIFICATE_KEYS.includes(key)),
      [],
    );
  });

  test("a config request waiting for the decision carries no certificates", async (t) => {
    const bed = await ControlPlaneBed.start(t, { clusterSize: 3, capacity: 3 });
    const [first] = await threeLaunching(bed);
    await bed.deliver("launch", await eventOf(bed, "launch", first));
    const answer = await askConfig(bed, first, { csr: newKeyAndCsr(first).csrPem, query: { wait: "0" } });
    assert.equal(answer.statusCode, 202, answer.body);
    assert.doesNotMatch(answer.body, /ETCD_ASG_PEER_CERT/);
  });
});

/** The group's `count` instances once their launch events are out (not delivered). */
async function threeLaunching(bed: ControlPlaneBed, count = 3): Promise<[string, string, string]> {
  await eventually(`${count} launch events`, () =>
    bed.eventsFor("launch").length === count ? true : undefined,
  );
  const ids = bed.instanceIds();
  assert.equal(ids.length, count);
  return ids as [string, string, string];
}
