// Mutual TLS and etcd authentication on the simulator (issue 14), as an attacker on the network and a
// curious node would try them: a client with no certificate, another CA's, or an expired one signed
// by the cluster's own CA is refused on 2379 and on 2380; etcdctl without a certificate, or with a
// certificate of a user etcd does not know, cannot put a key or change the membership; a node asking
// for another instance's address gets its own only; renewing every node's certificates while a
// client writes loses no acknowledged write.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { KMSClient } from "@aws-sdk/client-kms";
import { SignatureV4 } from "@smithy/signature-v4";
import { QuorumWriter } from "../../chaos/writer";
import { KmsSigningKey } from "../../lambdas/adapters/kms";
import { type CaKind, certificatePolicy, decideCertificate } from "../../lambdas/domain/certificates";
import { CertificateAuthority } from "../../lambdas/pki/certificate-authority";
import { newKeyAndCsr } from "../../local/key-and-csr";
import type { Simulator } from "../../local/simulator/simulator";
import { httpsGet, type TlsCredentials } from "../helpers/etcd/tls-cluster";
import { Sha256 } from "../helpers/sigv4-hash";
import { assertEndState, startSimulator } from "./simulator-bed";

const run = promisify(execFile);
const DAY_MS = 86_400_000;

test("mutual TLS and etcd auth refuse strangers; nodes get their own names only; renewal under load loses nothing", async (t) => {
  const sim = await startSimulator(t, { size: 3 });
  await sim.waitConverged(120_000);
  const [first, second] = sim.instances("InService");
  assert.ok(first && second);
  const operator = await sim.etcdTls();
  const dir = mkdtempSync(join(tmpdir(), "etcd-asg-security-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const clientUrl = sim.node(first.id).clientUrl;
  const peerUrl = clientUrl.replace(":2379", ":2380");
  const peerCa = await publishedPeerCa(sim, first.id);

  await t.test(
    "a client with no certificate, another CA's or an expired one is refused on 2379 and 2380",
    async () => {
      // The cluster's own CAs accept their own certificates (the control): the refusals below are the
      // certificates', not the connection's.
      assert.equal((await httpsGet(`${clientUrl}/health`, operator)).status, 200);
      const expiredClient = await expiredCertificate(sim, "client", { kind: "control-plane" });
      const expiredPeer = await expiredCertificate(sim, "peer", {
        kind: "peer",
        node: { instanceId: first.id, privateIp: first.privateIp },
      });
      const foreign = foreignCaCertificate(dir);
      for (const [port, url, ca, expired] of [
        [2379, `${clientUrl}/health`, operator.ca, expiredClient],
        [2380, `${peerUrl}/members`, peerCa, expiredPeer],
      ] as const) {
        for (const [what, credentials] of [
          ["no certificate", { ca }],
          ["another CA's certificate", { ca, cert: foreign.cert, key: foreign.key }],
          ["an expired certificate of the cluster's CA", { ca, ...expired }],
        ] as const) {
          await assert.rejects(httpsGet(url, credentials), `port ${port}: ${what} is refused`);
        }
      }
    },
  );

  await t.test(
    "etcdctl without a certificate, or as a user etcd does not know, cannot put or change members",
    async () => {
      const before = (await sim.members()).map((m) => m.id).sort();
      const ca = join(dir, "client-ca.crt");
      writeFileSync(ca, operator.ca);
      const stranger = await userCertificate(sim, dir, "app1");
      const identities: Array<[string, string[]]> = [
        ["anonymous", [`--cacert=${ca}`]],
        ["app1 (no etcd user)", [`--cacert=${ca}`, `--cert=${stranger.cert}`, `--key=${stranger.key}`]],
      ];
      for (const [who, flags] of identities) {
        for (const command of [
          ["put", "stolen", "value"],
          ["member", "remove", (await sim.members())[0]?.id.toString() ?? "1"],
          ["member", "add", "rogue", "--peer-urls=https://127.0.0.1:2380"],
        ]) {
          await assert.rejects(
            run(
              "etcdctl",
              [`--endpoints=${sim.clientUrls().join(",")}`, "--command-timeout=5s", ...flags, ...command],
              {
                env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ETCDCTL_API: "3" },
              },
            ),
            `${who}: etcdctl ${command.slice(0, 2).join(" ")} is refused`,
          );
        }
      }
      assert.deepEqual((await sim.members()).map((m) => m.id).sort(), before, "the member list is unchanged");
    },
  );

  await t.test(
    "a node asking for certificates naming another instance's address gets its own only",
    async () => {
      const clientName = sim.stack.outputs.ClientDnsName;
      assert.ok(clientName !== undefined, "the stack outputs ClientDnsName");
      const { csrPem } = csrAskingFor(dir, second.privateIp);
      const answer = await nodeApi(sim, first.id, `/v1/nodes/${first.id}/certificates`, csrPem);
      assert.equal(answer.status, 200, answer.body);
      for (const key of ["ETCD_ASG_PEER_CERT", "ETCD_ASG_SERVER_CERT"]) {
        const pem = Buffer.from(new RegExp(`^${key}="([^"]+)"$`, "m").exec(answer.body)?.[1] ?? "", "base64");
        const certificate = new X509Certificate(pem);
        // The peer certificate names the node's address only; the server certificate adds the
        // cluster's client name and the node's own name under it (docs/client-endpoint.md).
        const sans = certificate.subjectAltName?.split(", ") ?? [];
        assert.equal(sans[0], `IP Address:${first.privateIp}`, key);
        assert.ok(!sans.includes(`IP Address:${second.privateIp}`), `${key} names no other address`);
        assert.deepEqual(
          sans.slice(1),
          key === "ETCD_ASG_PEER_CERT" ? [] : [`DNS:${clientName}`, `DNS:${first.id}.${clientName}`],
          key,
        );
        assert.match(certificate.subject, new RegExp(`CN=${first.id}`));
      }
      const other = await nodeApi(sim, first.id, `/v1/nodes/${second.id}/certificates`, csrPem);
      assert.equal(other.status, 403, "a node may not ask for another's certificates");
    },
  );

  await t.test(
    "renewing every node's certificates while a client writes loses no acknowledged write",
    async () => {
      const writer = new QuorumWriter(sim, "renewal", 50);
      writer.start();
      const served = (id: string) => servedSerial(sim.node(id).clientUrl, operator);
      const before = new Map(
        await Promise.all(sim.instances().map(async (i) => [i.id, await served(i.id)] as const)),
      );
      for (const instance of sim.instances()) {
        assert.equal(await sim.node(instance.id).renewCertificates(), 0, `${instance.id} renewed`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await writer.stop();
      for (const instance of sim.instances()) {
        assert.notEqual(
          await served(instance.id),
          before.get(instance.id),
          `${instance.id} serves its new certificate`,
        );
      }
      assert.ok(
        writer.acknowledged.size > 10,
        `the writer kept writing (${writer.acknowledged.size} acknowledged)`,
      );
      for (const [key, value] of writer.acknowledged) sim.written.set(key, value);
      await assertEndState(sim);
    },
  );
});

/** The peer CA as a node received it (its pki/peer-ca.crt). */
async function publishedPeerCa(sim: Simulator, instanceId: string): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  return readFile(join(sim.node(instanceId).options.root, "pki", "peer-ca.crt"), "utf8");
}

/**
 * A certificate the cluster's own CA signed, valid yesterday only: signed through KMS with the
 * credentials of the node API's role, which the key policies let sign with both CA keys.
 */
async function expiredCertificate(
  sim: Simulator,
  ca: CaKind,
  request: Parameters<typeof decideCertificate>[0],
): Promise<{ cert: string; key: string }> {
  const nodeApi = sim.stack.functions.find((f) => f.role === "node-api");
  assert.ok(nodeApi);
  const kms = new KMSClient({
    endpoint: sim.services.endpoints.AWS_ENDPOINT_URL_KMS,
    region: "us-east-1",
    credentials: sim.iam.assumeRole(nodeApi.roleArn, "expired-certificate-test"),
  });
  try {
    const keyArn = sim.stack.kmsKeys.find((k) =>
      k.logicalId.includes(ca === "peer" ? "Peer" : "Client"),
    )?.arn;
    assert.ok(keyArn);
    const caPem =
      ca === "client" ? (await sim.etcdTls()).ca : await publishedPeerCa(sim, sim.instances()[0]?.id ?? "");
    const authority = await CertificateAuthority.load(ca, caPem, new KmsSigningKey(kms, keyArn));
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const yesterday = Date.now() - 2 * DAY_MS;
    const decision = decideCertificate(
      request,
      "ec",
      certificatePolicy(request.kind, { lifetimeMs: DAY_MS }),
      yesterday,
    );
    const issued = await authority.issue(decision, publicKey.export({ format: "der", type: "spki" }));
    return { cert: issued.pem, key: privateKey.export({ format: "pem", type: "pkcs8" }).toString() };
  } finally {
    kms.destroy();
  }
}

/** A throwaway CA made with openssl, and a client certificate (CN root, clientAuth) it signed. */
function foreignCaCertificate(dir: string): { cert: string; key: string } {
  const file = (name: string) => join(dir, name);
  execFileSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    file("foreign-ca.key"),
    "-out",
    file("foreign-ca.crt"),
    "-days",
    "1",
    "-subj",
    "/CN=foreign CA",
  ]);
  const { keyPem, csrPem } = newKeyAndCsr("root");
  writeFileSync(file("foreign.csr"), csrPem);
  writeFileSync(file("foreign-ext.cnf"), "extendedKeyUsage=clientAuth\n");
  const cert = execFileSync(
    "openssl",
    [
      "x509",
      "-req",
      "-in",
      file("foreign.csr"),
      "-CA",
      file("foreign-ca.crt"),
      "-CAkey",
      file("foreign-ca.key"),
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      file("foreign-ext.cnf"),
    ],
    {
      encoding: "utf8",
    },
  );
  return { cert, key: keyPem };
}

/** A certificate for etcd user `user` from the stack's client-cert function, as files for etcdctl. */
async function userCertificate(
  sim: Simulator,
  dir: string,
  user: string,
): Promise<{ cert: string; key: string }> {
  const { InvokeCommand, LambdaClient } = await import("@aws-sdk/client-lambda");
  const { keyPem, csrPem } = newKeyAndCsr(user);
  const lambda = new LambdaClient({
    endpoint: sim.services.lambdaApi,
    region: "us-east-1",
    credentials: sim.iam.operator,
  });
  try {
    const name = sim.stack.functions.find((f) => f.role === "client-cert")?.name;
    const answer = await lambda.send(
      new InvokeCommand({ FunctionName: name, Payload: JSON.stringify({ user, csr: csrPem }) }),
    );
    const payload = JSON.parse(Buffer.from(answer.Payload ?? new Uint8Array()).toString()) as {
      certificate: string;
    };
    const cert = join(dir, `${user}.crt`);
    const key = join(dir, `${user}.key`);
    writeFileSync(cert, payload.certificate);
    writeFileSync(key, keyPem, { mode: 0o600 });
    return { cert, key };
  } finally {
    lambda.destroy();
  }
}

/** A CSR that asks for another node's IP and a DNS name as SANs. */
function csrAskingFor(dir: string, otherIp: string): { csrPem: string } {
  const key = join(dir, "greedy.key");
  execFileSync("openssl", [
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-out",
    key,
  ]);
  const csrPem = execFileSync(
    "openssl",
    [
      "req",
      "-new",
      "-key",
      key,
      "-subj",
      "/CN=greedy",
      "-addext",
      `subjectAltName=IP:${otherIp},DNS:etcd.evil.example`,
    ],
    { encoding: "utf8" },
  );
  return { csrPem };
}

/** A node API request signed with `instanceId`'s instance-role credentials, as the boot script signs. */
async function nodeApi(
  sim: Simulator,
  instanceId: string,
  path: string,
  body: string,
): Promise<{ status: number; body: string }> {
  const base = new URL(sim.nodeApiUrl);
  const signer = new SignatureV4({
    service: "lambda",
    region: "us-east-1",
    sha256: Sha256,
    credentials: sim.node(instanceId).options.credentials,
  });
  const signed = await signer.sign({
    method: "POST",
    protocol: "http:",
    hostname: base.hostname,
    port: Number(base.port),
    path,
    headers: { host: base.host, "content-type": "application/x-pem-file" },
    body,
  });
  const { host: _host, ...headers } = signed.headers;
  const response = await fetch(`${base.origin}${path}`, { method: "POST", headers, body });
  return { status: response.status, body: await response.text() };
}

/** The serial number of the server certificate a new TLS handshake with `url` is shown. */
async function servedSerial(url: string, tls: TlsCredentials): Promise<string> {
  const { connect } = await import("node:tls");
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: hostname, port: Number(port), ...tls, checkServerIdentity: () => undefined },
      () => {
        resolve(socket.getPeerCertificate().serialNumber);
        socket.end();
      },
    );
    socket.once("error", reject);
  });
}
