// Certificate authorities made through the local KMS and published in a real (dynalite) ledger, and
// the certificates they issue, checked with openssl: what they chain to, what they may be used for,
// and which names they carry whatever the CSR asked for.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { CertificateAuthorityLedger } from "../../lambdas/adapters/ledger/certificate-authorities";
import { certificatePolicy, decideCertificate } from "../../lambdas/domain/certificates";
import { isRetryable } from "../../lambdas/errors";
import {
  CaKeyMismatchError,
  type CertificateAuthority,
  type ClientIdentity,
  CsrRejectedError,
  ensureCertificateAuthority,
  mintControlPlaneIdentity,
  RenewingClientIdentity,
  verifyCsr,
} from "../../lambdas/pki";
import { LEDGER_TABLE, useLocalLedgers } from "../helpers/ledger";
import { issueTo, useLocalKms } from "../helpers/pki";

const kms = useLocalKms();
const ledgers = useLocalLedgers();
let work: string;
let clusters = 0;

before(() => {
  work = mkdtempSync(join(tmpdir(), "etcd-asg-pki-"));
});

after(() => {
  rmSync(work, { recursive: true, force: true });
});

/** A CA store over a cluster partition no other test uses. */
function freshStore(): { store: CertificateAuthorityLedger; clusterName: string } {
  clusters += 1;
  const clusterName = `pki${clusters}`;
  return {
    clusterName,
    store: new CertificateAuthorityLedger({
      client: ledgers.clients().documentClient,
      tableName: LEDGER_TABLE,
      clusterName,
    }),
  };
}

function file(name: string, content: string): string {
  const path = join(work, name);
  writeFileSync(path, content);
  return path;
}

function openssl(...args: string[]): string {
  return execFileSync("openssl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** `openssl req` with a new key: the CSR a node (or an attacker) would send. */
function opensslCsr(name: string, keyArgs: string[], subject: string, extensions: string[] = []): string {
  const csr = join(work, `${name}.csr`);
  openssl(
    "req",
    "-new",
    ...keyArgs,
    "-nodes",
    "-keyout",
    join(work, `${name}.key`),
    "-out",
    csr,
    "-subj",
    subject,
    ...extensions.flatMap((e) => ["-addext", e]),
  );
  return readFileSync(csr, "utf8");
}

const EC_P256 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
const node = { instanceId: "i-0123456789abcdef0", privateIp: "10.0.1.7" };

async function ensure(
  kind: "peer" | "client",
  store: CertificateAuthorityLedger,
  clusterName: string,
  key = undefined as Awaited<ReturnType<typeof kms.newCaKey>> | undefined,
) {
  return ensureCertificateAuthority({
    kind,
    clusterName,
    key: key ?? (await kms.newCaKey()),
    store,
    now: Date.now(),
  });
}

describe("CA creation and publication", () => {
  test("the first caller creates and publishes the CA; later callers load the published certificate", async () => {
    const { store, clusterName } = freshStore();
    const key = await kms.newCaKey();
    const first = await ensure("peer", store, clusterName, key);
    const second = await ensure("peer", store, clusterName, key);
    assert.equal(first.created, true);
    assert.equal(second.created, false);
    assert.equal(second.ca.pem, first.ca.pem);
    assert.match(
      openssl("x509", "-noout", "-subject", "-in", file("ca.pem", first.ca.pem)),
      /CN ?= ?etcd-asg pki\d+ peer CA/,
    );
    assert.match(
      openssl("x509", "-noout", "-text", "-in", file("ca.pem", first.ca.pem)),
      /CA:TRUE, pathlen:0[\s\S]*Certificate Sign, CRL Sign/,
    );
  });

  test("five concurrent creators of one CA all end up with the one certificate that was published", async () => {
    const { store, clusterName } = freshStore();
    const key = await kms.newCaKey();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => ensure("client", store, clusterName, key)),
    );
    assert.equal(results.filter((result) => result.created).length, 1);
    const published = await store.get("client");
    assert.ok(published);
    for (const result of results) assert.equal(result.ca.pem, published.certificatePem);
    assert.equal(published.keyId, key.keyId);
  });

  test("a published CA certificate that holds another key's public key is refused", async () => {
    const { store, clusterName } = freshStore();
    await ensure("peer", store, clusterName);
    await assert.rejects(ensure("peer", store, clusterName), CaKeyMismatchError);
  });

  test("the ledger holds the CA certificates and key ARNs, and no private key", async () => {
    const { store, clusterName } = freshStore();
    await ensure("peer", store, clusterName);
    await ensure("client", store, clusterName);
    const { Items = [] } = await ledgers.clients().documentClient.send(
      new QueryCommand({
        TableName: LEDGER_TABLE,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": `cluster#${clusterName}` },
      }),
    );
    assert.deepEqual(Items.map((item) => item.sk).sort(), ["ca#client", "ca#peer"]);
    for (const item of Items) {
      assert.deepEqual(Object.keys(item).sort(), ["certificatePem", "createdAt", "keyId", "pk", "sk"]);
      assert.match(String(item.keyId), /^arn:aws:kms:us-east-1:123456789012:key\//);
      assert.doesNotMatch(JSON.stringify(item), /PRIVATE KEY/);
    }
  });
});

describe("issued certificates", () => {
  let peerCa: CertificateAuthority;
  let clientCa: CertificateAuthority;
  let peerCaFile: string;
  let clientCaFile: string;

  before(async () => {
    const { store, clusterName } = freshStore();
    peerCa = (await ensure("peer", store, clusterName)).ca;
    clientCa = (await ensure("client", store, clusterName)).ca;
    peerCaFile = file("peer-ca.pem", peerCa.pem);
    clientCaFile = file("client-ca.pem", clientCa.pem);
  });

  test("each certificate is one KMS Sign call", async () => {
    kms.emulator().resetCallCounts();
    await issueTo(peerCa, { kind: "peer", node });
    await issueTo(clientCa, { kind: "client", user: "app1" });
    assert.deepEqual(kms.emulator().callCounts(), { Sign: 2 });
  });

  test("peer certificates verify against the peer CA for both TLS ends, and not against the client CA", async () => {
    const peer = file("peer.pem", (await issueTo(peerCa, { kind: "peer", node })).certificatePem);
    for (const purpose of ["sslserver", "sslclient"]) {
      assert.match(openssl("verify", "-CAfile", peerCaFile, "-purpose", purpose, peer), /: OK/);
    }
    assert.throws(
      () => openssl("verify", "-CAfile", clientCaFile, peer),
      /unable to get local issuer certificate/,
    );
  });

  test("server certificates verify against the client CA as servers; client certificates only as clients", async () => {
    const server = file(
      "server.pem",
      (await issueTo(clientCa, { kind: "server", node, clientDnsName: "etcd.prod.internal" })).certificatePem,
    );
    const client = file(
      "client.pem",
      (await issueTo(clientCa, { kind: "client", user: "app1" })).certificatePem,
    );
    assert.match(openssl("verify", "-CAfile", clientCaFile, "-purpose", "sslserver", server), /: OK/);
    assert.match(openssl("verify", "-CAfile", clientCaFile, "-purpose", "sslclient", client), /: OK/);
    assert.throws(
      () => openssl("verify", "-CAfile", clientCaFile, "-purpose", "sslserver", client),
      /unsuitable certificate purpose/,
    );
    assert.match(
      openssl("x509", "-noout", "-ext", "subjectAltName", "-in", server),
      /IP Address:10\.0\.1\.7, DNS:etcd\.prod\.internal, DNS:i-0123456789abcdef0\.etcd\.prod\.internal\s*$/,
    );
  });

  test("a CSR from openssl asking for another instance's IP and a DNS name gets only the SANs the decision chose", async () => {
    const csr = opensslCsr("greedy", EC_P256, "/CN=i-0fffffffffffffff0", [
      "subjectAltName=IP:10.0.9.9,DNS:etcd.prod.internal,DNS:evil.example.com",
    ]);
    const verified = await verifyCsr(csr);
    const decision = decideCertificate(
      { kind: "peer", node },
      verified.family,
      certificatePolicy("peer"),
      Date.now(),
    );
    const issued = file("greedy.pem", (await peerCa.issue(decision, verified.publicKey)).pem);
    assert.match(openssl("x509", "-noout", "-subject", "-in", issued), /CN ?= ?i-0123456789abcdef0/);
    const sans = openssl("x509", "-noout", "-ext", "subjectAltName", "-in", issued);
    assert.match(sans, /IP Address:10\.0\.1\.7\s*$/);
    assert.doesNotMatch(sans, /10\.0\.9\.9|DNS:/);
    // The holder of the CSR's key can use the certificate: it holds that key.
    const keyOfCert = openssl("x509", "-noout", "-pubkey", "-in", issued);
    assert.equal(keyOfCert, openssl("pkey", "-pubout", "-in", join(work, "greedy.key")));
  });

  test("an RSA 2048 CSR from openssl is accepted; P-384 and RSA 1024 are refused, naming the key", async () => {
    assert.equal((await verifyCsr(opensslCsr("rsa2048", ["-newkey", "rsa:2048"], "/CN=x"))).family, "rsa");
    await assert.rejects(
      verifyCsr(opensslCsr("p384", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"], "/CN=x")),
      (error: Error) => error instanceof CsrRejectedError && /secp384r1/.test(error.message),
    );
    await assert.rejects(
      verifyCsr(opensslCsr("rsa1024", ["-newkey", "rsa:1024"], "/CN=x")),
      (error: Error) => error instanceof CsrRejectedError && /RSA of 1024 bits/.test(error.message),
    );
  });
});

describe("the control plane's client identity", () => {
  let clientCa: CertificateAuthority;

  before(async () => {
    const { store, clusterName } = freshStore();
    clientCa = (await ensure("client", store, clusterName)).ca;
  });

  test("is CN root, from the client CA, with a key made in memory for it", async () => {
    const identity = await mintControlPlaneIdentity(clientCa, Date.now());
    const certificate = file("root.pem", identity.certificatePem);
    assert.match(openssl("x509", "-noout", "-subject", "-in", certificate), /CN ?= ?root/);
    assert.match(
      openssl("verify", "-CAfile", file("root-ca.pem", identity.caPem), "-purpose", "sslclient", certificate),
      /: OK/,
    );
    assert.equal(
      openssl("x509", "-noout", "-pubkey", "-in", certificate),
      openssl("pkey", "-pubout", "-in", file("root.key", identity.privateKeyPem)),
    );
    assert.equal(identity.notAfter - identity.renewAt, 20 * 60_000);
  });

  test("is renewed from two thirds of its lifetime on, one mint for concurrent callers", async () => {
    let now = Date.now();
    let mints = 0;
    const identity = new RenewingClientIdentity({
      mint: (at) => {
        mints += 1;
        return mintControlPlaneIdentity(clientCa, at);
      },
      now: () => now,
    });
    const [first, same] = await Promise.all([identity.current(), identity.current()]);
    assert.equal(mints, 1);
    assert.equal(same?.serialNumber, first?.serialNumber);
    now = (first as ClientIdentity).renewAt - 1;
    assert.equal((await identity.current()).serialNumber, first?.serialNumber);
    now = (first as ClientIdentity).renewAt;
    const renewed = await identity.current();
    assert.notEqual(renewed.serialNumber, first?.serialNumber);
    assert.notEqual(renewed.privateKeyPem, first?.privateKeyPem);
    assert.equal(mints, 2);
  });

  test("while KMS fails, the current certificate is used until it expires, then the retryable error is thrown", async () => {
    let now = Date.now();
    const identity = new RenewingClientIdentity({
      mint: (at) => mintControlPlaneIdentity(clientCa, at),
      now: () => now,
      retryAfterMs: 1000,
    });
    const held = await identity.current();
    kms.emulator().injectFaults(() => "internal");
    try {
      now = held.renewAt + 1;
      assert.equal((await identity.current()).serialNumber, held.serialNumber);
      now = held.notAfter;
      await assert.rejects(
        identity.current(),
        (error: Error) => error.name === "KmsUnavailableError" && isRetryable(error),
      );
    } finally {
      kms.emulator().injectFaults(undefined);
    }
    assert.notEqual((await identity.current()).serialNumber, held.serialNumber);
  });
});
