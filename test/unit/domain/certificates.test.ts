import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  CertificateDecisionError,
  certificatePolicy,
  DEFAULT_CA_LIFETIME_MS,
  DEFAULT_CLOCK_SKEW_MS,
  decideCaCertificate,
  decideCertificate,
} from "../../../lambdas/domain/certificates";

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const DAY = 86_400_000;
const node = { instanceId: "i-0123456789abcdef0", privateIp: "10.0.1.7" };

describe("certificate decisions for nodes", () => {
  test("a peer certificate names the instance and its private IP only, for both ends of a peer link", () => {
    const decision = decideCertificate({ kind: "peer", node }, "ec", certificatePolicy("peer"), NOW);
    assert.deepEqual(decision, {
      kind: "peer",
      ca: "peer",
      commonName: "i-0123456789abcdef0",
      ipAddresses: ["10.0.1.7"],
      dnsNames: [],
      keyUsages: ["digitalSignature"],
      extendedKeyUsages: ["serverAuth", "clientAuth"],
      notBefore: NOW - DEFAULT_CLOCK_SKEW_MS,
      notAfter: NOW + 7 * DAY,
      renewAt: NOW + (7 * DAY * 2) / 3,
    });
  });

  test("a server certificate adds the cluster's client DNS name and the member's own name under it, lower-cased, and is signed by the client CA", () => {
    const decision = decideCertificate(
      { kind: "server", node, clientDnsName: "Etcd.Example.Internal." },
      "ec",
      certificatePolicy("server"),
      NOW,
    );
    assert.equal(decision.ca, "client");
    assert.deepEqual(decision.ipAddresses, ["10.0.1.7"]);
    // The member's own name is the target of its SRV records, which a client discovering the cluster
    // by SRV connects to and verifies.
    assert.deepEqual(decision.dnsNames, [
      "etcd.example.internal",
      "i-0123456789abcdef0.etcd.example.internal",
    ]);
    assert.deepEqual(decision.extendedKeyUsages, ["serverAuth", "clientAuth"]);
  });

  test("a server certificate has no DNS SAN before the cluster has a name", () => {
    const decision = decideCertificate({ kind: "server", node }, "ec", certificatePolicy("server"), NOW);
    assert.deepEqual(decision.dnsNames, []);
  });

  test("an RSA key also gets keyEncipherment", () => {
    const decision = decideCertificate({ kind: "peer", node }, "rsa", certificatePolicy("peer"), NOW);
    assert.deepEqual(decision.keyUsages, ["digitalSignature", "keyEncipherment"]);
  });

  test("renewal comes at two thirds of the lifetime, rounded down to the millisecond", () => {
    const policy = certificatePolicy("peer", { lifetimeMs: 1_000_000 });
    const decision = decideCertificate({ kind: "peer", node }, "ec", policy, NOW);
    assert.equal(decision.renewAt, NOW + 666_666);
    assert.equal(decision.notAfter, NOW + 1_000_000);
  });

  test("the same request at the same time gives the same decision", () => {
    const policy = certificatePolicy("server");
    const request = { kind: "server", node, clientDnsName: "etcd.example.internal" } as const;
    assert.deepEqual(
      decideCertificate(request, "ec", policy, NOW),
      decideCertificate(request, "ec", policy, NOW),
    );
  });

  const badNodes = [
    [
      "an instance ID that is not one",
      { instanceId: "node-1", privateIp: "10.0.1.7" },
      /instance ID.*"node-1"/,
    ],
    [
      "an IP that is not IPv4",
      { instanceId: "i-0123456789abcdef0", privateIp: "10.0.1" },
      /private IP.*"10.0.1"/,
    ],
    ["a host name as the IP", { instanceId: "i-0123456789abcdef0", privateIp: "evil.example" }, /private IP/],
  ] as const;
  for (const [what, bad, message] of badNodes) {
    test(`refuses ${what}, naming the value`, () => {
      assert.throws(
        () => decideCertificate({ kind: "peer", node: bad }, "ec", certificatePolicy("peer"), NOW),
        (error: Error) => error instanceof CertificateDecisionError && message.test(error.message),
      );
    });
  }

  for (const name of [
    "*.example.internal",
    "localhost",
    "bad_label.example",
    `${"a".repeat(64)}.example`,
    // 239 characters: the member's own name under it would be longer than DNS allows (253).
    `${"a".repeat(50)}.${"b".repeat(59)}.${"c".repeat(59)}.${"d".repeat(59)}.internal`,
  ]) {
    test(`refuses the client DNS name ${JSON.stringify(name.slice(0, 20))}`, () => {
      assert.throws(
        () =>
          decideCertificate(
            { kind: "server", node, clientDnsName: name },
            "ec",
            certificatePolicy("server"),
            NOW,
          ),
        /client DNS name must be a fully qualified host name/,
      );
    });
  }
});

describe("certificate decisions for clients", () => {
  test("a user's certificate names the user and no host, for client authentication only", () => {
    const decision = decideCertificate(
      { kind: "client", user: "app1" },
      "ec",
      certificatePolicy("client"),
      NOW,
    );
    assert.equal(decision.ca, "client");
    assert.equal(decision.commonName, "app1");
    assert.deepEqual(decision.ipAddresses, []);
    assert.deepEqual(decision.dnsNames, []);
    assert.deepEqual(decision.extendedKeyUsages, ["clientAuth"]);
  });

  test("the control plane is etcd's root user, with a one-hour certificate renewed after 40 minutes", () => {
    const decision = decideCertificate(
      { kind: "control-plane" },
      "ec",
      certificatePolicy("control-plane"),
      NOW,
    );
    assert.equal(decision.commonName, "root");
    assert.deepEqual(decision.extendedKeyUsages, ["clientAuth"]);
    assert.equal(decision.notAfter, NOW + 3_600_000);
    assert.equal(decision.renewAt, NOW + 2_400_000);
  });

  test("a user cannot be given the control plane's root identity", () => {
    assert.throws(
      () => decideCertificate({ kind: "client", user: "root" }, "ec", certificatePolicy("client"), NOW),
      /root is the control plane's identity/,
    );
  });

  for (const user of ["", "-dash-first", "has space", "comma,separated", "x".repeat(65)]) {
    test(`refuses the user name ${JSON.stringify(user.slice(0, 20))}`, () => {
      assert.throws(
        () => decideCertificate({ kind: "client", user }, "ec", certificatePolicy("client"), NOW),
        /user name must be 1-64/,
      );
    });
  }
});

describe("certificate policy", () => {
  test("defaults: 7 days for nodes and users, 1 hour for the control plane, 5 minutes of clock skew", () => {
    assert.deepEqual(certificatePolicy("peer"), { lifetimeMs: 7 * DAY, clockSkewMs: 300_000 });
    assert.deepEqual(certificatePolicy("client"), { lifetimeMs: 7 * DAY, clockSkewMs: 300_000 });
    assert.deepEqual(certificatePolicy("control-plane"), { lifetimeMs: 3_600_000, clockSkewMs: 300_000 });
  });

  test("refuses a lifetime under 15 minutes, showing the value", () => {
    assert.throws(() => certificatePolicy("peer", { lifetimeMs: 60_000 }), /at least 900000.*received 60000/);
  });

  test("refuses a clock skew allowance as long as the lifetime", () => {
    assert.throws(
      () => certificatePolicy("peer", { lifetimeMs: 3_600_000, clockSkewMs: 3_600_000 }),
      /clock skew allowance.*received 3600000/,
    );
  });

  test("refuses a time that is not epoch milliseconds", () => {
    assert.throws(
      () => decideCertificate({ kind: "control-plane" }, "ec", certificatePolicy("control-plane"), 1.5),
      /now must be epoch milliseconds/,
    );
  });
});

describe("CA certificate decisions", () => {
  test("a CA certificate is named after the cluster and its kind, may sign end-entity certificates only", () => {
    assert.deepEqual(decideCaCertificate("prod-1", "peer", NOW), {
      ca: "peer",
      commonName: "etcd-asg prod-1 peer CA",
      pathLength: 0,
      keyUsages: ["keyCertSign", "cRLSign"],
      notBefore: NOW - DEFAULT_CLOCK_SKEW_MS,
      notAfter: NOW + DEFAULT_CA_LIFETIME_MS,
    });
    assert.equal(decideCaCertificate("prod-1", "client", NOW).commonName, "etcd-asg prod-1 client CA");
  });

  test("refuses a cluster name that could not be a ledger partition", () => {
    assert.throws(() => decideCaCertificate("a b", "peer", NOW), /cluster name must be.*"a b"/);
  });
});
