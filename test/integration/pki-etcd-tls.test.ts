// A real etcd 3.4 cluster running on certificates this project's CAs issued through the local KMS:
// mutual TLS on the client and the peer port, who gets in and who does not, and what a renewal of
// the certificate files does to a running member.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { connect } from "node:tls";
import { noop } from "cockatiel";
import { Etcd3 } from "etcd3";
import { certificatePolicy } from "../../lambdas/domain/certificates";
import type { CertificateAuthority } from "../../lambdas/pki/certificate-authority";
import { httpsGet, type TlsCredentials, TlsEtcdCluster } from "../helpers/etcd/tls-cluster";
import { type Credentials, issueTo, newCertificateAuthority, useLocalKms } from "../helpers/pki";

const CLIENT_DNS_NAME = "etcd.test.internal";
const HOUR = 3_600_000;

function etcdClient(hosts: string[], clientCa: CertificateAuthority, identity?: Credentials): Etcd3 {
  return new Etcd3({
    hosts,
    credentials: {
      rootCertificate: Buffer.from(clientCa.pem),
      ...(identity === undefined
        ? {}
        : {
            privateKey: Buffer.from(identity.privateKeyPem),
            certChain: Buffer.from(identity.certificatePem),
          }),
    },
    dialTimeout: 3000,
    defaultCallOptions: () => ({ deadline: Date.now() + 5000 }),
    faultHandling: { host: () => noop, global: noop },
  });
}

/** The serial number a new TLS handshake with `url` shows, lower-case hex without leading zeros. */
function presentedSerial(url: string, tls: TlsCredentials, servername?: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: hostname,
      port: Number(port),
      ...tls,
      ...(servername ? { servername } : {}),
    });
    socket.once("secureConnect", () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.destroy();
      resolve(serial.toLowerCase().replace(/^0+/, ""));
    });
    socket.once("error", reject);
  });
}

const bare = (serial: string) => serial.replace(/^0+/, "");

describe("etcd 3.4 on certificates issued through KMS", () => {
  const kms = useLocalKms();
  let peerCa: CertificateAuthority;
  let clientCa: CertificateAuthority;
  let root: Credentials;

  before(async () => {
    peerCa = await newCertificateAuthority(kms, "peer");
    clientCa = await newCertificateAuthority(kms, "client");
    root = await issueTo(clientCa, { kind: "control-plane" });
  });

  describe("a three-member cluster", () => {
    let cluster: TlsEtcdCluster;
    let admin: Etcd3;

    before(async () => {
      cluster = await TlsEtcdCluster.start({
        size: 3,
        peerCa,
        clientCa,
        healthCheckIdentity: root,
        clientDnsName: CLIENT_DNS_NAME,
      });
      admin = etcdClient(cluster.clientUrls, clientCa, root);
    });

    after(async () => {
      admin?.close();
      await cluster?.stop();
    });

    test("a client with the control plane's certificate puts and reads a key", async () => {
      await admin.put("pki/hello").value("world");
      assert.equal(await admin.get("pki/hello").string(), "world");
    });

    test("a user's certificate from the client CA is accepted too", async () => {
      const user = etcdClient(
        cluster.clientUrls,
        clientCa,
        await issueTo(clientCa, { kind: "client", user: "app1" }),
      );
      try {
        await user.put("pki/app1").value("ok");
        assert.equal(await admin.get("pki/app1").string(), "ok");
      } finally {
        user.close();
      }
    });

    const refusals: [string, () => Promise<Credentials | undefined>][] = [
      ["no certificate", async () => undefined],
      [
        "a certificate another CA signed (same CN root)",
        async () => issueTo(await newCertificateAuthority(kms, "client", "other"), { kind: "control-plane" }),
      ],
      [
        "an expired certificate",
        async () =>
          issueTo(
            clientCa,
            { kind: "control-plane" },
            { now: Date.now() - 3 * HOUR, policy: certificatePolicy("control-plane") },
          ),
      ],
      [
        "a peer certificate (the peer CA is not trusted on the client port)",
        async () =>
          issueTo(peerCa, {
            kind: "peer",
            node: { instanceId: "i-0123456789abcdef0", privateIp: cluster.members[0]?.ip ?? "" },
          }),
      ],
    ];
    for (const [what, credentials] of refusals) {
      test(`a client with ${what} is refused on the client port and writes nothing`, async () => {
        const key = `pki/refused/${Math.random()}`;
        const client = etcdClient(cluster.clientUrls, clientCa, await credentials());
        try {
          await assert.rejects(
            async () => client.put(key).value("x"),
            /bad certificate|certificate required/,
          );
        } finally {
          client.close();
        }
        assert.equal(await admin.get(key).string(), null);
      });
    }

    test("the peer port accepts a peer certificate and refuses none, a client-CA one and an expired one", async () => {
      const member = cluster.members[0];
      assert.ok(member);
      const node = { instanceId: member.name, privateIp: member.ip };
      const asPeer = async (credentials: Credentials | undefined) =>
        httpsGet(`${member.peerUrl}/members`, {
          ca: peerCa.pem,
          ...(credentials === undefined
            ? {}
            : { cert: credentials.certificatePem, key: credentials.privateKeyPem }),
        });
      const peer = await issueTo(peerCa, { kind: "peer", node });
      assert.equal((await asPeer(peer)).status, 200);
      await assert.rejects(asPeer(undefined));
      await assert.rejects(asPeer(root));
      await assert.rejects(
        asPeer(await issueTo(peerCa, { kind: "peer", node }, { now: Date.now() - 10 * 24 * HOUR })),
      );
    });

    test("a server certificate is valid for the member's IP, the cluster's DNS name and the member's own name under it", async () => {
      const member = cluster.members[1];
      const other = cluster.members[2];
      assert.ok(member && other);
      const tls = { ca: clientCa.pem, cert: root.certificatePem, key: root.privateKeyPem };
      assert.ok(await presentedSerial(member.clientUrl, tls));
      assert.ok(await presentedSerial(member.clientUrl, tls, CLIENT_DNS_NAME));
      // Its SRV target: what a client that discovers the cluster by SRV verifies.
      assert.ok(await presentedSerial(member.clientUrl, tls, `${member.name}.${CLIENT_DNS_NAME}`));
      for (const name of ["other.test.internal", `${other.name}.${CLIENT_DNS_NAME}`]) {
        await assert.rejects(presentedSerial(member.clientUrl, tls, name), /does not match|altnames/);
      }
    });

    test("renewed certificate files are presented on the next handshake, on both ports, without a restart", async () => {
      const member = cluster.members[2];
      assert.ok(member);
      const clientTls = { ca: clientCa.pem, cert: root.certificatePem, key: root.privateKeyPem };
      const peer = await issueTo(peerCa, {
        kind: "peer",
        node: { instanceId: member.name, privateIp: member.ip },
      });
      const peerTls = { ca: peerCa.pem, cert: peer.certificatePem, key: peer.privateKeyPem };
      const previous = {
        server: await presentedSerial(member.clientUrl, clientTls),
        peer: await presentedSerial(member.peerUrl, peerTls),
      };
      const renewed = await cluster.renewCertificates(member.name);
      assert.notEqual(bare(renewed.server), previous.server);
      assert.equal(await presentedSerial(member.clientUrl, clientTls), bare(renewed.server));
      assert.equal(await presentedSerial(member.peerUrl, peerTls), bare(renewed.peer));
      // The member still serves, and still talks to its peers, on the new certificates.
      const client = etcdClient([member.clientUrl], clientCa, root);
      try {
        await client.put("pki/after-renewal").value("yes");
        assert.equal(await client.get("pki/after-renewal").string(), "yes");
      } finally {
        client.close();
      }
    });
  });

  describe("a member's peer port checks where a peer certificate is presented from", () => {
    let single: TlsEtcdCluster;

    before(async () => {
      // One member never dials a peer, so it runs with etcd's peer SAN check on, as on EC2.
      single = await TlsEtcdCluster.start({
        size: 1,
        peerCa,
        clientCa,
        healthCheckIdentity: root,
        skipPeerSanCheck: false,
      });
    });

    after(async () => {
      await single?.stop();
    });

    test("a peer certificate is accepted from the IP it names and refused from any other", async () => {
      const member = single.members[0];
      assert.ok(member);
      const credentials = await issueTo(peerCa, {
        kind: "peer",
        node: { instanceId: member.name, privateIp: member.ip },
      });
      const tls = { ca: peerCa.pem, cert: credentials.certificatePem, key: credentials.privateKeyPem };
      const url = `${member.peerUrl}/members`;
      assert.equal((await httpsGet(url, tls, { localAddress: member.ip })).status, 200);
      await assert.rejects(httpsGet(url, tls, { localAddress: "127.0.0.1" }));
    });
  });
});
