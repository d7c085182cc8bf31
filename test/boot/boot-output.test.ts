// The boot script's output modes, retries, deadline and exit codes, run for real against an IMDSv2
// server and a local node API that checks every request's SigV4 signature.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type BootCase, runBash, SCRIPT, withBootCase } from "./boot-harness";

const ok = (body: string) => ({ status: 200, body });
const wait = {
  status: 202,
  body: 'ETCD_ASG_DECISION="wait"\nETCD_ASG_REASON="launch handler has not run yet"\n',
};

function assertAllSigned(c: BootCase): void {
  assert.ok(c.requests.length > 0, "the script made no node API request");
  for (const request of [...c.requests, ...c.certificateRequests]) {
    assert.equal(request.signatureProblem, undefined, `${request.method} ${request.url}`);
    assert.equal(request.securityToken, c.credentials.Token);
  }
}

/** The node's key is all a refused boot may leave: it is made (once, and kept) before the
 * configuration request that carries its CSR. */
const KEY_PATH = ["etc", "etc/etcd", "etc/etcd/pki", "etc/etcd/pki/node.key"];

async function assertWroteNothingButTheKey(c: BootCase, message: string): Promise<void> {
  const written = (await readdir(c.root, { recursive: true })).filter((path) => !KEY_PATH.includes(path));
  assert.deepEqual(written, [], message);
}

describe("boot script output modes", () => {
  it("prints etcd flags for a member with the local TLS settings, asking for its own config and certificates in one signed request", async () => {
    await withBootCase(async (c) => {
      c.onApi(() => ok(c.config()));
      const result = await c.run(["-o", "flags"]);
      assert.equal(result.code, 0, result.stderr);
      const ip = c.privateIp;
      const pki = c.pkiDir;
      assert.equal(
        result.stdout,
        `--name=${c.instanceId} --data-dir=${c.dataDir} --initial-cluster=${c.instanceId}=https://${ip}:2380` +
          ` --initial-cluster-state=new --initial-cluster-token=etcd-asg-gen-1` +
          ` --initial-advertise-peer-urls=https://${ip}:2380 --listen-peer-urls=https://${ip}:2380` +
          ` --listen-client-urls=https://${ip}:2379 --advertise-client-urls=https://${ip}:2379` +
          ` --client-cert-auth=true --trusted-ca-file=${pki}/client-ca.crt --cert-file=${pki}/server.crt` +
          ` --key-file=${pki}/node.key --peer-client-cert-auth=true --peer-trusted-ca-file=${pki}/peer-ca.crt` +
          ` --peer-cert-file=${pki}/peer.crt --peer-key-file=${pki}/node.key\n`,
      );
      assert.doesNotMatch(result.stdout, /metrics/, "no plaintext listener of the script's own");
      // One round trip: the configuration request carries the CSR and is answered with the certificates.
      assert.deepEqual(
        c.requests.map((r) => `${r.method} ${r.url}`),
        [`POST /v1/nodes/${c.instanceId}/config?etcd=3.5.6&format=env&wait=10`],
      );
      assert.deepEqual(c.certificateRequests, c.requests, "the certificates came with the configuration");
      assertAllSigned(c);
    });
  });

  it("reads IMDS in one request for the identity and role name and one for the credentials, reused by every signed request", async () => {
    await withBootCase(async (c) => {
      await c.replaceImdsAnswers({});
      c.onApi((_, n) => (n === 0 ? wait : ok(c.config())));
      const result = await c.run(["-o", "flags"]);
      assert.equal(result.code, 0, result.stderr);
      assert.ok(c.requests.length + c.certificateRequests.length >= 3, "three signed requests or more");
      assertAllSigned(c);
      const meta = "GET /latest/meta-data";
      assert.deepEqual(c.imdsRequests, [
        "PUT /latest/api/token",
        `${meta}/instance-id`,
        `${meta}/local-ipv4`,
        `${meta}/placement/region`,
        `${meta}/iam/security-credentials/`,
        `${meta}/iam/security-credentials/etcd-asg-node`,
      ]);
    });
  });

  it("takes the IMDS token and credentials the user data hands over: only the identity is read, and no program it runs sees them", async () => {
    await withBootCase(async (c) => {
      const token = await (
        await fetch(`${c.imdsEndpoint}/latest/api/token`, {
          method: "PUT",
          headers: { "X-aws-ec2-metadata-token-ttl-seconds": "21600" },
        })
      ).text();
      await c.replaceImdsAnswers({});
      // Every curl and openssl says whether the secrets reached its environment, then runs as itself.
      const seen = join(c.root, "secrets-seen");
      for (const program of ["curl", "openssl"]) {
        await c.fakeExecutable(
          program,
          `env | grep -c -e ^ETCD_ASG_IMDS_TOKEN= -e ^ETCD_ASG_ROLE_CREDENTIALS= >>"${seen}"\n` +
            `exec "$(type -P -a ${program} | sed -n 2p)" "$@"`,
        );
      }
      c.onApi(() => ok(c.config()));
      const result = await c.run(["-o", "flags"], {
        ETCD_ASG_IMDS_TOKEN: token,
        ETCD_ASG_ROLE_CREDENTIALS: JSON.stringify({ Code: "Success", Type: "AWS-HMAC", ...c.credentials }),
      });
      assert.equal(result.code, 0, result.stderr);
      assertAllSigned(c);
      const meta = "GET /latest/meta-data";
      assert.deepEqual(c.imdsRequests, [
        `${meta}/instance-id`,
        `${meta}/local-ipv4`,
        `${meta}/placement/region`,
        `${meta}/iam/security-credentials/`,
      ]);
      const counts = (await readFile(seen, "utf8")).trim().split("\n");
      assert.ok(counts.length >= 4, `only ${counts.length} curl and openssl runs`);
      assert.deepEqual(new Set(counts), new Set(["0"]));
    });
  });

  it("exits 2 naming a handed-over IMDS token or credentials document that is not one", async () => {
    await withBootCase(async (c) => {
      const badToken = await c.run(["-o", "flags"], { ETCD_ASG_IMDS_TOKEN: "a token; rm -rf /" });
      assert.equal(badToken.code, 2, badToken.stderr);
      assert.match(badToken.stderr, /ETCD_ASG_IMDS_TOKEN is not an IMDSv2 token/);
      c.onApi(() => ok(c.config()));
      const badCredentials = await c.run(["-o", "flags"], {
        ETCD_ASG_ROLE_CREDENTIALS: '{"Code": "Success"}',
      });
      assert.equal(badCredentials.code, 2, badCredentials.stderr);
      assert.match(
        badCredentials.stderr,
        /ETCD_ASG_ROLE_CREDENTIALS lacks AccessKeyId, SecretAccessKey or Token/,
      );
      assert.equal(c.requests.length, 0, "the node API was not asked");
    });
  });

  it("prints an environment file with every etcd variable and the decision as a comment", async () => {
    await withBootCase(async (c) => {
      c.onApi(() => ok(c.config({ ETCD_ASG_DECISION: "learner", ETCD_INITIAL_CLUSTER_STATE: "existing" })));
      const result = await c.run(["-o", "env"]);
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.trimEnd().split("\n");
      assert.match(lines[0] ?? "", /^# etcd-asg: learner \(/);
      assert.deepEqual(
        lines.slice(1).map((line) => line.split("=")[0]),
        [
          "ETCD_NAME",
          "ETCD_DATA_DIR",
          "ETCD_INITIAL_CLUSTER",
          "ETCD_INITIAL_CLUSTER_STATE",
          "ETCD_INITIAL_CLUSTER_TOKEN",
          "ETCD_INITIAL_ADVERTISE_PEER_URLS",
          "ETCD_LISTEN_PEER_URLS",
          "ETCD_LISTEN_CLIENT_URLS",
          "ETCD_ADVERTISE_CLIENT_URLS",
          "ETCD_CLIENT_CERT_AUTH",
          "ETCD_TRUSTED_CA_FILE",
          "ETCD_CERT_FILE",
          "ETCD_KEY_FILE",
          "ETCD_PEER_CLIENT_CERT_AUTH",
          "ETCD_PEER_TRUSTED_CA_FILE",
          "ETCD_PEER_CERT_FILE",
          "ETCD_PEER_KEY_FILE",
        ],
      );
      assert.ok(lines.includes('ETCD_INITIAL_CLUSTER_STATE="existing"'));
      assert.ok(lines.includes(`ETCD_NAME="${c.instanceId}"`));
      assert.ok(lines.includes('ETCD_CLIENT_CERT_AUTH="true"'));
      assert.ok(lines.includes('ETCD_PEER_CLIENT_CERT_AUTH="true"'));
      assert.ok(lines.includes(`ETCD_TRUSTED_CA_FILE="${c.pkiDir}/client-ca.crt"`));
      assert.ok(lines.includes(`ETCD_PEER_KEY_FILE="${c.pkiDir}/node.key"`));
      assert.ok(lines.includes(`ETCD_ADVERTISE_CLIENT_URLS="https://${c.privateIp}:2379"`));
    });
  });

  it("prints a systemd drop-in for etcd.service: its user, hardening, bounded restarts and TLS settings", async () => {
    await withBootCase(async (c) => {
      c.onApi(() => ok(c.config()));
      const result = await c.run(["-o", "dropin"], { ETCD_ASG_ETCD_USER: "4242" });
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.trimEnd().split("\n");
      assert.deepEqual(lines.slice(1, 4), ["[Unit]", "StartLimitIntervalSec=300", "StartLimitBurst=5"]);
      const service = lines.slice(lines.indexOf("[Service]") + 1);
      assert.deepEqual(
        service.filter((line) => !line.startsWith("Environment=")),
        [
          "User=4242",
          "Group=4242",
          "NoNewPrivileges=yes",
          "ProtectSystem=strict",
          "ProtectHome=yes",
          "PrivateTmp=yes",
          `ReadWritePaths=${c.dataDir}`,
          "CapabilityBoundingSet=",
          "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
          "LimitNOFILE=65536",
          "Restart=on-failure",
          "RestartSec=5",
        ],
      );
      assert.ok(lines.includes(`Environment="ETCD_NAME=${c.instanceId}"`));
      assert.ok(lines.includes(`Environment="ETCD_DATA_DIR=${c.dataDir}"`));
      assert.ok(lines.includes(`Environment="ETCD_CERT_FILE=${c.pkiDir}/server.crt"`));
      assert.ok(lines.includes(`Environment="ETCD_PEER_CERT_FILE=${c.pkiDir}/peer.crt"`));
      assert.equal(lines.filter((line) => line.startsWith("Environment=")).length, 17);
      assert.equal(existsSync(c.dropinDir), false, "print modes write no drop-in");
    });
  });

  it("renders the published backend quota and auto-compaction after etcd's other keys, in every mode", async () => {
    const storage = {
      ETCD_QUOTA_BACKEND_BYTES: "268435456",
      ETCD_AUTO_COMPACTION_MODE: "periodic",
      ETCD_AUTO_COMPACTION_RETENTION: "1h",
    };
    await withBootCase(async (c) => {
      c.onApi(() => ok(c.config(storage)));
      const flags = await c.run(["-o", "flags"]);
      assert.equal(flags.code, 0, flags.stderr);
      assert.match(
        flags.stdout,
        / --advertise-client-urls=\S+ --quota-backend-bytes=268435456 --auto-compaction-mode=periodic --auto-compaction-retention=1h --client-cert-auth=true /,
      );
      const env = await c.run(["-o", "env"]);
      assert.ok(env.stdout.includes('\nETCD_QUOTA_BACKEND_BYTES="268435456"\n'), env.stdout);
      const dropin = await c.run(["-o", "dropin"]);
      assert.ok(dropin.stdout.includes('\nEnvironment="ETCD_AUTO_COMPACTION_RETENTION=1h"\n'), dropin.stdout);
    });
  });

  for (const [key, value] of [
    ["ETCD_QUOTA_BACKEND_BYTES", "8GiB"],
    ["ETCD_AUTO_COMPACTION_MODE", "hourly"],
    ["ETCD_AUTO_COMPACTION_RETENTION", "1d"],
  ] as const) {
    it(`refuses a published ${key} that etcd does not take (${value}) as a malformed answer`, async () => {
      await withBootCase(async (c) => {
        c.onApi(() => ok(c.config({ [key]: value })));
        const result = await c.run(["-o", "flags"]);
        assert.equal(result.code, 5, result.stderr);
        assert.match(result.stderr, new RegExp(`${key} is "${value}", which etcd does not take`));
      });
    });
  }

  it("prefers ETCD_ASG_DATA_DIR over the published data dir", async () => {
    await withBootCase(async (c) => {
      c.onApi(() => ok(c.config()));
      const local = join(c.root, "mnt/etcd");
      const result = await c.run(["-o", "flags"], { ETCD_ASG_DATA_DIR: local });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`--data-dir=${local} `));
      assert.ok(existsSync(`${local}.etcd-asg`));
    });
  });

  it("exits 0 with a clear 'not a member' result and prints nothing when the cluster stays full", async () => {
    await withBootCase(async (c) => {
      c.onApi(() =>
        ok(
          'ETCD_ASG_DECISION="not-a-member"\nETCD_ASG_REASON="cluster full: 3 of 3 voters (add strategy)"\n',
        ),
      );
      const result = await c.run(["-o", "start"], { ETCD_ASG_DEADLINE_SECONDS: "2" });
      assert.equal(result.code, 0, result.stderr);
      assert.ok(c.requests.length > 1, "stood by, asking again");
      assert.match(result.stderr, /standing by for a free slot/);
      assert.equal(result.stdout, "");
      assert.match(result.stderr, /not a member: etcd is not started on this instance \(cluster full/);
      assert.equal(existsSync(c.dropinDir), false);
    });
  });

  it("reports the configured etcd release and exits 9 without starting etcd when it is refused", async () => {
    await withBootCase(async (c) => {
      c.onApi(() =>
        ok(
          'ETCD_ASG_DECISION="refused"\nETCD_ASG_REASON="3.7.0 skips a minor version: the cluster runs 3.5"\n',
        ),
      );
      const result = await c.run(["-o", "start"], { ETCD_ASG_ETCD_VERSION: "3.7.0" });
      assert.equal(result.code, 9, result.stderr);
      assert.equal(
        c.requests[0]?.url,
        `/v1/nodes/${c.instanceId}/config?etcd=3.7.0&format=env&standby=1&wait=10`,
      );
      assert.match(result.stderr, /error: etcd 3\.7\.0 refused, etcd is not started: 3\.7\.0 skips a minor/);
      assert.equal(c.certificateRequests.length, 0);
      assert.equal(existsSync(c.dropinDir), false);
      assertAllSigned(c);
    });
  });
});

describe("boot script retries within the deadline", () => {
  it("waits while the configuration is not published (202), then uses it", async () => {
    await withBootCase(async (c) => {
      c.onApi((_, n) => (n < 2 ? wait : ok(c.config())));
      const result = await c.run(["-o", "flags"]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(c.requests.length, 3);
      assert.match(result.stderr, /not published yet: launch handler has not run yet/);
      assertAllSigned(c);
    });
  });

  it("retries on 5xx and 429, then succeeds", async () => {
    await withBootCase(async (c) => {
      const failures = [{ status: 503 }, { status: 429 }, { status: 500, body: "boom" }];
      c.onApi((_, n) => failures[n] ?? ok(c.config()));
      const result = await c.run(["-o", "env"]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(c.requests.length, 4);
      assert.match(result.stderr, /answered 503/);
    });
  });

  it("exits 1 naming the cause when the configuration is still unpublished at the deadline", async () => {
    await withBootCase(async (c) => {
      c.onApi(() => wait);
      const started = Date.now();
      const result = await c.run(["-o", "flags"], { ETCD_ASG_DEADLINE_SECONDS: "2" });
      assert.equal(result.code, 1);
      assert.ok(Date.now() - started < 6000, "the deadline bounds the run");
      assert.match(
        result.stderr,
        /error: deadline of 2s passed: the configuration is not published yet: launch handler has not run yet/,
      );
      assert.equal(result.stdout, "");
    });
  });

  it("exits 1 naming IMDS when IMDS is down until the deadline", async () => {
    await withBootCase(async (c) => {
      await c.imds.stop();
      const result = await c.run(["-o", "flags"], { ETCD_ASG_DEADLINE_SECONDS: "1" });
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        new RegExp(`deadline of 1s passed: IMDS at ${c.imdsEndpoint} did not issue a token`),
      );
      assert.equal(c.requests.length, 0);
    });
  });

  it("exits 1 when the node API is unreachable until the deadline", async () => {
    await withBootCase(async (c) => {
      const result = await c.run(["-o", "flags"], {
        ETCD_ASG_DEADLINE_SECONDS: "1",
        ETCD_ASG_NODE_API_URL: `http://${c.privateIp}:1`,
      });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /the node API at http:\/\/.*:1 is unreachable/);
    });
  });
});

describe("boot script refusals", () => {
  it("exits 3 when the node API refuses the caller's identity (403)", async () => {
    await withBootCase(async (c) => {
      c.onApi(() => ({ status: 403, body: "instance i-other may not read this record" }));
      const result = await c.run(["-o", "flags"]);
      assert.equal(result.code, 3);
      assert.match(result.stderr, /refused the configuration request for instance i-\w+ \(403\)/);
      assert.equal(c.requests.length, 1, "a refusal is not retried");
    });
  });

  for (const status of [400, 404]) {
    it(`exits 4 when the node API rejects the request (${status})`, async () => {
      await withBootCase(async (c) => {
        c.onApi(() => ({ status, body: "no such instance in this Auto Scaling Group" }));
        const result = await c.run(["-o", "flags"]);
        assert.equal(result.code, 4);
        assert.match(result.stderr, new RegExp(`\\(${status}\\): no such instance`));
      });
    });
  }

  it("exits 4 naming the conflict when the node API answers 409, writing nothing", async () => {
    await withBootCase(async (c) => {
      c.onApi(() => ({ status: 409, body: "a membership change for this instance is in progress" }));
      const result = await c.run(["-o", "start"]);
      assert.equal(result.code, 4);
      assert.match(
        result.stderr,
        /refused the configuration request for instance i-\w+ as a conflict with the cluster's state \(409\): a membership change for this instance is in progress/,
      );
      assert.equal(c.requests.length, 1, "a conflict is not retried");
      assert.equal(result.stdout, "");
      await assertWroteNothingButTheKey(c, "no marker, data dir or drop-in");
    });
  });

  it("exits 3 when IMDS lists no instance role, naming the missing instance profile, writing nothing", async () => {
    await withBootCase(async (c) => {
      // What IMDS answers on an instance launched without an instance profile.
      await c.replaceImdsAnswers({
        "/latest/meta-data/iam/security-credentials/": { status: 404, body: "" },
      });
      c.onApi(() => ok(c.config()));
      const result = await c.run(["-o", "start"]);
      assert.equal(result.code, 3);
      assert.match(
        result.stderr,
        /IMDS has no \/latest\/meta-data\/iam\/security-credentials\/: the instance has no instance profile \(IAM role\) attached/,
      );
      assert.equal(c.requests.length, 0, "no unsigned request to the node API");
      assert.equal(result.stdout, "");
      await assertWroteNothingButTheKey(c, "nothing written");
    });
  });

  it("exits 3 when IMDS says the role's credentials are not usable, naming IMDS's code", async () => {
    await withBootCase(async (c) => {
      const document = JSON.stringify({
        Code: "AssumeRoleUnauthorizedAccess",
        Message: "EC2 cannot assume the role",
      });
      await c.replaceImdsAnswers({
        "/latest/meta-data/iam/security-credentials/etcd-asg-node": { status: 200, body: document },
      });
      const result = await c.run(["-o", "flags"]);
      assert.equal(result.code, 3);
      assert.match(
        result.stderr,
        /IMDS credentials document for role etcd-asg-node: the credentials are not usable \(Code "AssumeRoleUnauthorizedAccess"\)/,
      );
      assert.equal(c.requests.length, 0);
      await assertWroteNothingButTheKey(c, "nothing written");
    });
  });

  const malformedImds: Array<[string, string, { status: number; body: string }, RegExp]> = [
    [
      "an instance ID that is not one",
      "/latest/meta-data/instance-id",
      { status: 200, body: "<html><body>Service Unavailable</body></html>" },
      /IMDS answered "<html><body>Service Unavailable<\/body><\/html>" for \/latest\/meta-data\/instance-id, which is not a valid value/,
    ],
    [
      "an empty private IP",
      "/latest/meta-data/local-ipv4",
      { status: 200, body: "" },
      /IMDS answered "" for \/latest\/meta-data\/local-ipv4, which is not a valid value/,
    ],
    [
      "no region (404)",
      "/latest/meta-data/placement/region",
      { status: 404, body: "" },
      /IMDS has no \/latest\/meta-data\/placement\/region \(404\)/,
    ],
    [
      "a credentials document without keys",
      "/latest/meta-data/iam/security-credentials/etcd-asg-node",
      { status: 200, body: '{"Code":"Success","Type":"AWS-HMAC"}' },
      /IMDS credentials document for role etcd-asg-node lacks AccessKeyId, SecretAccessKey or Token/,
    ],
  ];
  for (const [what, path, answer, message] of malformedImds) {
    it(`exits 5 when IMDS answers ${what}, naming the path and writing nothing`, async () => {
      await withBootCase(async (c) => {
        await c.replaceImdsAnswers({ [path]: answer });
        c.onApi(() => ok(c.config()));
        const result = await c.run(["-o", "start"]);
        assert.equal(result.code, 5, result.stderr);
        assert.match(result.stderr, message);
        assert.equal(c.requests.length, 0, "the node API is never asked");
        assert.equal(result.stdout, "");
        await assertWroteNothingButTheKey(c, "no marker, data dir or drop-in");
      });
    });
  }

  const malformed: Array<[string, (c: BootCase) => string, RegExp]> = [
    [
      "a command substitution",
      (c) => `${c.config()}ETCD_EXTRA=$(touch pwned)\n`,
      /line 12 is not KEY="value": ETCD_EXTRA=\$\(touch pwned\)/,
    ],
    ["an unknown key", (c) => `${c.config()}ETCD_PROXY="on"\n`, /line 12 has unknown key ETCD_PROXY/],
    ["a repeated key", (c) => `${c.config()}ETCD_NAME="i-1"\n`, /line 12 repeats key ETCD_NAME/],
    [
      "a missing key",
      (c) => c.config({ ETCD_INITIAL_CLUSTER_TOKEN: undefined }),
      /ETCD_INITIAL_CLUSTER_TOKEN is missing/,
    ],
    ["an unknown decision", (c) => c.config({ ETCD_ASG_DECISION: "proxy" }), /ETCD_ASG_DECISION is "proxy"/],
    [
      "another instance's name",
      (c) => c.config({ ETCD_NAME: "i-0000000000000000" }),
      /published ETCD_NAME=i-0+ for instance/,
    ],
    [
      "a peer URL on another IP",
      (c) => c.config({ ETCD_INITIAL_ADVERTISE_PEER_URLS: "http://127.0.0.1:2380" }),
      /peer URL http:\/\/127\.0\.0\.1:2380, which is not this instance's private IP/,
    ],
    [
      "a learner told to start a new cluster",
      (c) => c.config({ ETCD_ASG_DECISION: "learner" }),
      /a learner cannot start a new cluster/,
    ],
  ];
  for (const [what, body, message] of malformed) {
    it(`exits 5 on an answer with ${what}, writing nothing`, async () => {
      await withBootCase(async (c) => {
        c.onApi(() => ok(body(c)));
        const result = await c.run(["-o", "start"]);
        assert.equal(result.code, 5, result.stderr);
        assert.match(result.stderr, message);
        assert.equal(result.stdout, "");
        await assertWroteNothingButTheKey(c, "no marker, data dir, drop-in or injected file");
      });
    });
  }

  it("exits 2 on bad usage, naming what is wrong", async () => {
    await withBootCase(async (c) => {
      const noUrl = await c.run(["-o", "flags"], { ETCD_ASG_NODE_API_URL: undefined });
      assert.equal(noUrl.code, 2);
      assert.match(noUrl.stderr, /ETCD_ASG_NODE_API_URL is not set/);
      const badMode = await c.run(["-o", "yaml"]);
      assert.equal(badMode.code, 2);
      assert.match(badMode.stderr, /unknown output mode "yaml"/);
      const badDeadline = await c.run([], { ETCD_ASG_DEADLINE_SECONDS: "soon" });
      assert.equal(badDeadline.code, 2);
      assert.match(badDeadline.stderr, /ETCD_ASG_DEADLINE_SECONDS must be a positive integer, got "soon"/);
    });
  });

  it("exits 8 when curl is too old to sign AWS requests", async () => {
    await withBootCase(async (c) => {
      // curl 7.68 in all but its version: its IMDS reads work, and the node API is never asked.
      await c.fakeExecutable(
        "curl",
        '[[ $1 == --version ]] && exec echo "curl 7.68.0 (x86_64-pc-linux-gnu) libcurl/7.68.0"\n' +
          'exec "$(type -P -a curl | sed -n 2p)" "$@"',
      );
      const result = await c.run(["-o", "flags"]);
      assert.equal(result.code, 8, result.stderr);
      assert.match(result.stderr, /curl 7\.68\.0 cannot sign AWS requests \(--aws-sigv4 needs curl 7\.75/);
      assert.doesNotMatch(result.stderr, /asking the node API/);
    });
  });

  it("exits 8 and installs nothing when the etcd download does not match its SHA-256", async () => {
    await withBootCase(async (c) => {
      await mkdir(join(c.root, "releases/v9.9.9"), { recursive: true });
      const arch = process.arch === "arm64" ? "arm64" : "amd64";
      await writeFile(join(c.root, `releases/v9.9.9/etcd-v9.9.9-linux-${arch}.tar.gz`), "not etcd");
      const snippet = "WORK_DIR=$(mktemp -d); now_ms; DEADLINE_MS=$((NOW_MS + 5000)); install_etcd";
      const result = await c.runFunctions(snippet, {
        ETCD_ASG_ETCD_VERSION: "9.9.9",
        ETCD_ASG_ETCD_SHA256: "0".repeat(64),
        ETCD_ASG_ETCD_DOWNLOAD_URL: `file://${c.root}/releases`,
      });
      assert.equal(result.code, 8, result.stderr);
      assert.match(result.stderr, /does not match SHA-256 0{64}: refusing to install it/);
    });
  });
});

describe("boot script hygiene", () => {
  it("is ShellCheck clean", async () => {
    const result = await runBash(
      ["-c", 'shellcheck --severity=style "$1"', "shellcheck", SCRIPT],
      {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
      },
      "/",
    );
    assert.equal(result.code, 0, result.stdout + result.stderr);
  });

  it("reads its usage from its own header", async () => {
    await withBootCase(async (c) => {
      const result = await c.run(["-h"]);
      assert.equal(result.code, 0);
      assert.match(result.stdout, /^Usage: etcd-asg-boot\.sh/);
      assert.match(result.stdout, /ETCD_ASG_NODE_API_URL {6}required/);
    });
  });
});
