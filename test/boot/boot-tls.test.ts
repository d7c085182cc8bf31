// The boot script's node side of mutual TLS: the node's own key (made once, kept), a CSR to the node
// API, certificates checked before anything is written, the etcd user and the hardened units, and
// renewal from a timer. Real openssl and curl against stand-in CAs made by openssl; the start-mode
// case runs the real etcd on TLS under a UID of its own.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { connect } from "node:tls";
import {
  type ApiAnswer,
  type BootCase,
  isConfigRequest,
  type RunResult,
  runBash,
  withBootCase,
} from "./boot-harness";
import { foreignCsr, TestCa } from "./test-ca";

const ok = (body: string): ApiAnswer => ({ status: 200, body });
const member: ApiAnswer = { status: 200, body: 'ETCD_ASG_STATUS="member"\n' };
const CERTIFICATE_FILES = ["client-ca.crt", "node.key", "peer-ca.crt", "peer.crt", "renew-at", "server.crt"];

function pki(c: BootCase, name: string): string {
  return join(c.pkiDir, name);
}

async function openssl(args: readonly string[], input?: string): Promise<string> {
  const child = execFile("openssl", args, { timeout: 30_000 });
  const output = new Promise<string>((done, fail) => {
    let stdout = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.on("error", fail);
    child.on("close", (code) =>
      code === 0 ? done(stdout) : fail(new Error(`openssl ${args[0]} exited ${code}`)),
    );
  });
  // A program that reads no input (genpkey) may exit before its stdin is closed: its exit status,
  // not the pipe's EPIPE, says how it went.
  child.stdin?.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
  });
  child.stdin?.end(input ?? "");
  return output;
}

/** The public key (PEM) of a certificate, a CSR or a private key file's contents. */
async function publicKeyOf(kind: "x509" | "req" | "pkey", pem: string): Promise<string> {
  return openssl(kind === "pkey" ? ["pkey", "-pubout"] : [kind, "-noout", "-pubkey"], pem);
}

/** A first `-o flags` run makes the PKI files; then `name` is overwritten and the script runs again. */
async function rerunWithPkiFile(
  c: BootCase,
  name: string,
  content: string,
  mode: string,
): Promise<RunResult> {
  c.onApi(() => ok(c.config()));
  assert.equal((await c.run(["-o", "flags"])).code, 0);
  await writeFile(pki(c, name), content);
  return c.run(["-o", mode]);
}

async function listPki(c: BootCase): Promise<string[]> {
  return existsSync(c.pkiDir) ? (await readdir(c.pkiDir)).sort() : [];
}

describe("boot script certificates", () => {
  it("makes the node's EC P-256 key once (0600, the etcd user's), posts a signed CSR naming only the instance with the configuration request, and writes the certificates it answers with", async () => {
    await withBootCase(async (c) => {
      c.onApi(() => ok(c.config()));
      const result = await c.run(["-o", "flags"], { ETCD_ASG_ETCD_USER: "4244" });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /made this node's key .*node\.key \(EC P-256\)/);

      assert.equal(c.certificateRequests.length, 1);
      const request = c.certificateRequests[0];
      assert.ok(request);
      assert.deepEqual(c.requests, [request], "one round trip: the configuration request carries the CSR");
      assert.equal(request.method, "POST");
      assert.equal(request.url, `/v1/nodes/${c.instanceId}/config?etcd=3.5.6&format=env&wait=10`);
      assert.equal(request.contentType, "application/x-pem-file");
      assert.equal(request.signatureProblem, undefined, "SigV4 signs the CSR body too");
      assert.match(request.body, /^-----BEGIN CERTIFICATE REQUEST-----\n/);
      assert.match(
        await openssl(["req", "-noout", "-subject"], request.body),
        new RegExp(`CN ?= ?${c.instanceId}$`, "m"),
      );
      assert.doesNotMatch(
        await openssl(["req", "-noout", "-text"], request.body),
        /Subject Alternative Name/,
      );

      const key = await readFile(pki(c, "node.key"), "utf8");
      assert.match(key, /^-----BEGIN PRIVATE KEY-----/);
      assert.match(await openssl(["pkey", "-noout", "-text"], key), /NIST CURVE: P-256/);
      assert.equal(await publicKeyOf("req", request.body), await publicKeyOf("pkey", key));
      assert.deepEqual(await listPki(c), CERTIFICATE_FILES);
      for (const name of CERTIFICATE_FILES) {
        const file = await stat(pki(c, name));
        assert.deepEqual([file.uid, file.gid], [4244, 4244], name);
        assert.equal(file.mode & 0o777, name === "node.key" ? 0o600 : 0o644, name);
      }
      const dir = await stat(c.pkiDir);
      assert.equal(dir.mode & 0o777, 0o750);
      assert.deepEqual([dir.uid, dir.gid], [0, 4244], "root writes the PKI dir, etcd's group reads it");
      assert.equal(
        await publicKeyOf("x509", await readFile(pki(c, "server.crt"), "utf8")),
        await publicKeyOf("pkey", key),
      );
      assert.equal(await readFile(pki(c, "peer-ca.crt"), "utf8"), await c.ca.caPem("peer-ca"));
      assert.equal(await readFile(pki(c, "client-ca.crt"), "utf8"), await c.ca.caPem("client-ca"));
      assert.match(await readFile(pki(c, "renew-at"), "utf8"), /^\d{10}\n$/);
      assert.deepEqual(
        (await readdir(c.pkiDir)).filter((name) => name.startsWith(".")),
        [],
        "no temp files left",
      );

      const again = await c.run(["-o", "flags"], { ETCD_ASG_ETCD_USER: "4244" });
      assert.equal(again.code, 0, again.stderr);
      assert.doesNotMatch(again.stderr, /made this node's key/);
      assert.equal(await readFile(pki(c, "node.key"), "utf8"), key, "the key is made once and kept");
      assert.equal(
        await publicKeyOf("req", c.certificateRequests[1]?.body ?? ""),
        await publicKeyOf("pkey", key),
      );
    });
  });

  async function assertRefusedWritingNothing(c: BootCase, result: RunResult) {
    assert.equal(result.stdout, "");
    assert.deepEqual(
      (await listPki(c)).filter((name) => name !== "node.key"),
      [],
      "no certificate written (the key stays for the next try)",
    );
    assert.equal(existsSync(c.dataDir), false, "no data dir");
    assert.equal(existsSync(`${c.dataDir}.etcd-asg`), false, "no marker");
    assert.equal(existsSync(c.dropinDir), false, "no drop-in");
  }

  const refusedCertificates: Array<[string, (c: BootCase, csr: string) => Promise<ApiAnswer>, RegExp]> = [
    [
      "for another IP",
      (c, csr) => c.issueFor(csr, "127.0.0.1"),
      /sent a peer certificate that does not name this node's private IP 127\.\d+\.\d+\.\d+ \(SANs: IPAddress:127\.0\.0\.1\): refusing it/,
    ],
    [
      "for another key",
      async (c) => c.issueFor(await foreignCsr(c.root, c.instanceId), c.privateIp),
      /sent a peer certificate for another key than this node's: refusing it/,
    ],
    [
      "not signed by the CA sent with them",
      async (c, csr) => {
        const other = await TestCa.create(c.root);
        const certificates = await c.ca.issue(csr, { ip: c.privateIp });
        const foreign = await other.issue(csr, { ip: c.privateIp });
        return ok(TestCa.answerBody({ ...certificates, server: foreign.server }));
      },
      /sent a server certificate its CA does not verify/,
    ],
    [
      "with a value that is not base64",
      async (c, csr) =>
        ok(
          (await c.issueFor(csr, c.privateIp)).body?.replace(
            /ETCD_ASG_PEER_CA="[^"]*"/,
            'ETCD_ASG_PEER_CA="not base64!"',
          ) ?? "",
        ),
      /ETCD_ASG_PEER_CA is not base64/,
    ],
    [
      "with a CA that is PEM-shaped but not a certificate openssl can read",
      async (c, csr) => {
        const certificates = await c.ca.issue(csr, { ip: c.privateIp });
        const garbled = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        return ok(TestCa.answerBody({ ...certificates, peerCa: garbled }));
      },
      /sent a peer certificate its CA does not verify/,
    ],
    [
      "with a server certificate that is PEM-shaped but not one openssl can read",
      async (c, csr) => {
        const certificates = await c.ca.issue(csr, { ip: c.privateIp });
        const garbled = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        return ok(TestCa.answerBody({ ...certificates, server: garbled }));
      },
      /ETCD_ASG_SERVER_CERT is not one PEM certificate/,
    ],
    [
      "with a private key besides a certificate",
      async (c, csr) => {
        const certificates = await c.ca.issue(csr, { ip: c.privateIp });
        const key = await openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
        return ok(TestCa.answerBody({ ...certificates, server: `${certificates.server}${key}` }));
      },
      /ETCD_ASG_SERVER_CERT is not one PEM certificate/,
    ],
    [
      "without their expiry",
      async (c, csr) =>
        ok((await c.issueFor(csr, c.privateIp)).body?.replace(/ETCD_ASG_NOT_AFTER=.*\n/, "") ?? ""),
      /ETCD_ASG_NOT_AFTER is "", expected epoch seconds/,
    ],
    [
      "already expired",
      (c, csr) => c.issueFor(csr, c.privateIp, { renewAt: 1_000_000_000, notAfter: 1_000_000_001 }),
      /renew at 1000000000, not after 1000000001/,
    ],
  ];
  for (const [what, answer, message] of refusedCertificates) {
    it(`exits 5 on certificates ${what}, writing no certificate and starting nothing`, async () => {
      await withBootCase(async (c) => {
        const systemctl = await c.fakeSystemctl();
        c.onApi(() => ok(c.config()));
        c.onCertificates((request) => answer(c, request.body));
        const result = await c.run(["-o", "start"], systemctl.env);
        assert.equal(result.code, 5, result.stderr);
        assert.match(result.stderr, message);
        await assertRefusedWritingNothing(c, result);
        assert.equal(existsSync(systemctl.env.FAKE_SYSTEMCTL_LOG), false, "systemctl never called");
      });
    });
  }

  it("exits 4 with the node API's reason when it refuses the CSR (400), without retrying", async () => {
    await withBootCase(async (c) => {
      c.onApi(() => ok(c.config()));
      c.onCertificates(() => ({
        status: 400,
        body: "CSR refused: its key is EC on curve secp384r1; use P-256",
      }));
      const result = await c.run(["-o", "start"]);
      assert.equal(result.code, 4, result.stderr);
      assert.match(
        result.stderr,
        /rejected the configuration request for instance i-\w+ \(400\): CSR refused: its key is EC on curve secp384r1/,
      );
      assert.equal(c.certificateRequests.length, 1);
    });
  });

  it("exits 3 when the node API refuses the configuration request's identity (403)", async () => {
    await withBootCase(async (c) => {
      c.onApi(() => ok(c.config()));
      c.onCertificates(() => ({ status: 403, body: "instance i-other may not ask for these certificates" }));
      const result = await c.run(["-o", "flags"]);
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, /refused the configuration request for instance i-\w+ \(403\)/);
      assert.equal(c.certificateRequests.length, 1);
    });
  });

  it("retries while KMS is unavailable (503) or the API throttles (429), then writes the certificates", async () => {
    await withBootCase(async (c) => {
      c.onApi(() => ok(c.config()));
      const failures: ApiAnswer[] = [
        { status: 503, body: "KMS is unavailable: the CA cannot sign for now" },
        { status: 429, body: "Rate exceeded" },
      ];
      c.onCertificates((request, n) => failures[n] ?? c.issueFor(request.body, c.privateIp));
      const result = await c.run(["-o", "env"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /answered 503 to the configuration request: KMS is unavailable/);
      assert.equal(c.certificateRequests.length, 3);
      assert.deepEqual(await listPki(c), CERTIFICATE_FILES);
    });
  });

  it("exits 1 when KMS stays unavailable (503) until the deadline", async () => {
    await withBootCase(async (c) => {
      c.onApi(() => ok(c.config()));
      c.onCertificates(() => ({ status: 503, body: "KMS is unavailable" }));
      const result = await c.run(["-o", "flags"], { ETCD_ASG_DEADLINE_SECONDS: "2" });
      assert.equal(result.code, 1, result.stderr);
      assert.match(
        result.stderr,
        /deadline of 2s passed: the node API answered 503 to the configuration request/,
      );
      assert.ok(c.certificateRequests.length > 1);
      assert.equal(result.stdout, "");
    });
  });

  it("writes no certificate for a node that is not a member, keeping the key it sent the CSR of", async () => {
    await withBootCase(async (c) => {
      c.onApi(() => ok('ETCD_ASG_DECISION="not-a-member"\nETCD_ASG_REASON="cluster full"\n'));
      const result = await c.run(["-o", "flags"]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(c.certificateRequests.length, 0);
      assert.deepEqual(await listPki(c), ["node.key"]);
    });
  });

  const misplaced: Array<[string, (c: BootCase, csr: string) => Promise<string>, RegExp]> = [
    [
      "a member's configuration without certificates",
      async (c) => c.config(),
      /ETCD_ASG_RENEW_AT is "", expected epoch seconds/,
    ],
    [
      "a not-a-member answer with certificates",
      async (c, csr) =>
        `ETCD_ASG_DECISION="not-a-member"\nETCD_ASG_REASON="cluster full"\n${(await c.issueFor(csr, c.privateIp)).body ?? ""}`,
      /a not-a-member's configuration must carry no certificates/,
    ],
  ];
  for (const [what, body, message] of misplaced) {
    it(`exits 5 on ${what}, writing no certificate`, async () => {
      await withBootCase(async (c) => {
        const answer = await body(c, await foreignCsr(c.root, c.instanceId));
        c.onApi(() => ok(answer));
        c.onCertificates(() => ({ status: 200, body: "" }));
        const result = await c.run(["-o", "flags"]);
        assert.equal(result.code, 5, result.stderr);
        assert.match(result.stderr, message);
        assert.deepEqual(await listPki(c), ["node.key"]);
      });
    });
  }
});

describe("boot script etcd user and units", () => {
  it("makes the etcd system user when it is missing, and only then", async () => {
    await withBootCase(async (c) => {
      const state = join(c.root, "user-made");
      // id knows user etcd (uid and group 990) once useradd made it.
      await c.fakeExecutable(
        "id",
        `[[ -e ${state} && $* == "-u etcd" ]] && { echo 990; exit 0; }
[[ -e ${state} && $* == "-gn etcd" ]] && { echo etcd; exit 0; }
exit 1`,
      );
      await c.fakeExecutable("useradd", `echo "$*" >>${join(c.root, "useradd.log")}; touch ${state}`);
      const snippet = 'read_settings; ensure_etcd_user; echo "$ETCD_USER $ETCD_GROUP $ETCD_OWNER"';
      const first = await c.runFunctions(snippet, { ETCD_ASG_ETCD_USER: undefined });
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.stdout, "etcd etcd etcd:etcd\n");
      assert.match(first.stderr, /creating system user etcd for etcd/);
      const second = await c.runFunctions(snippet, { ETCD_ASG_ETCD_USER: undefined });
      assert.equal(second.code, 0, second.stderr);
      assert.equal(
        await readFile(join(c.root, "useradd.log"), "utf8"),
        "--system --no-create-home --shell /usr/sbin/nologin etcd\n",
        "useradd ran once",
      );
    });
  });

  it("takes a numeric ETCD_ASG_ETCD_USER as a UID (same GID) and refuses a value that is neither", async () => {
    await withBootCase(async (c) => {
      const snippet = 'read_settings; ensure_etcd_user; echo "$ETCD_USER $ETCD_GROUP $ETCD_OWNER"';
      const numeric = await c.runFunctions(snippet, { ETCD_ASG_ETCD_USER: "4245" });
      assert.equal(numeric.stdout, "4245 4245 4245:4245\n", numeric.stderr);
      const bad = await c.run(["-o", "flags"], { ETCD_ASG_ETCD_USER: "etcd; rm -rf /" });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /ETCD_ASG_ETCD_USER must be a user name or a numeric UID/);
    });
  });

  it("installs a hardened etcd unit for a hand-installed etcd, with bounded restarts", async () => {
    await withBootCase(async (c) => {
      const snippet =
        'read_settings; ensure_etcd_user; DATA_DIR=/var/lib/etcd; ETCD_BIN=/usr/local/bin/etcd; mkdir -p "$DROPIN_DIR"; install_etcd_unit';
      const result = await c.runFunctions(snippet, { ETCD_ASG_ETCD_USER: "4246" });
      assert.equal(result.code, 0, result.stderr);
      const unit = await readFile(join(c.dropinDir, "../etcd.service"), "utf8");
      assert.equal(
        unit,
        [
          "[Unit]",
          "Description=etcd (installed by etcd-asg-boot.sh)",
          "After=network-online.target",
          "Wants=network-online.target",
          "StartLimitIntervalSec=300",
          "StartLimitBurst=5",
          "",
          "[Service]",
          "Type=notify",
          "ExecStart=/usr/local/bin/etcd",
          "User=4246",
          "Group=4246",
          "NoNewPrivileges=yes",
          "ProtectSystem=strict",
          "ProtectHome=yes",
          "PrivateTmp=yes",
          "ReadWritePaths=/var/lib/etcd",
          "CapabilityBoundingSet=",
          "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
          "LimitNOFILE=65536",
          "Restart=on-failure",
          "RestartSec=5",
          "",
          "[Install]",
          "WantedBy=multi-user.target",
          "",
        ].join("\n"),
      );
    });
  });

  it("checks for renewal every hour for a 7-day certificate and every minute for the shortest", async () => {
    await withBootCase(async (c) => {
      const interval = (renewAt: number, notAfter: number) =>
        c.runFunctions(
          `RENEW_AT=${renewAt}; NOT_AFTER=${notAfter}; renewal_check_seconds; echo "$CHECK_SECONDS"`,
        );
      const day = 86_400;
      assert.equal((await interval(1e9 + (14 * day) / 3, 1e9 + 7 * day)).stdout, "3600\n");
      assert.equal((await interval(1e9 + 600, 1e9 + 900)).stdout, "60\n");
      assert.equal((await interval(1e9 + 8 * 3600, 1e9 + 12 * 3600)).stdout, "2400\n");
    });
  });
});

/** The certificate (serial, hex) etcd presents on `port`, asked with the node's own files. */
async function servedSerial(c: BootCase, port: number, ca: "client-ca.crt" | "peer-ca.crt"): Promise<string> {
  const [caPem, cert, key] = await Promise.all([
    readFile(pki(c, ca)),
    readFile(pki(c, ca === "client-ca.crt" ? "server.crt" : "peer.crt")),
    readFile(pki(c, "node.key")),
  ]);
  return new Promise((done, fail) => {
    const socket = connect({ host: c.privateIp, port, ca: caPem, cert, key }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      done(serial.toUpperCase());
    });
    socket.on("error", fail);
  });
}

async function serialOf(file: string): Promise<string> {
  const out = await openssl(["x509", "-noout", "-serial", "-in", file]);
  return out
    .trim()
    .replace(/^serial=/, "")
    .toUpperCase();
}

/** Runs the renewal service as systemd would: its ExecStart with its Environment= and systemd's PATH. */
async function runRenewService(c: BootCase): Promise<RunResult> {
  const unit = await readFile(join(c.dropinDir, "../etcd-asg-renew.service"), "utf8");
  const env: Record<string, string> = {
    PATH: `${c.binDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
  };
  for (const [, name, value] of unit.matchAll(/^Environment="([A-Z_]+)=([^"]*)"$/gm)) {
    if (name !== undefined && value !== undefined) env[name] = value;
  }
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1]?.split(" ") ?? [];
  return runBash(["-c", 'exec "$@"', "renew", ...exec], env, "/");
}

describe("boot script start mode on TLS, and renewal", () => {
  it("starts the real etcd under its own UID on TLS, waits for health over TLS, installs the renewal timer; renewal swaps the certificates etcd serves without a restart", async () => {
    await withBootCase(async (c) => {
      const { env, stopEtcd } = await c.fakeSystemctl();
      try {
        // etcd runs as UID 4247: it must reach its data and PKI dirs under the case's root.
        await chmod(c.root, 0o755);
        const now = Math.floor(Date.now() / 1000);
        c.onApi((request) => (isConfigRequest(request) ? ok(c.config()) : member));
        // Due for renewal at once, so the renewal below has something to do.
        c.onCertificates((request) =>
          c.issueFor(request.body, c.privateIp, { renewAt: now, notAfter: now + 86_400 }),
        );
        const result = await c.run(["-o", "start"], {
          ...env,
          ETCD_ASG_ETCD_USER: "4247",
          ETCD_ASG_DEADLINE_SECONDS: "30",
        });
        const etcdLog = existsSync(`${env.FAKE_SYSTEMCTL_LOG}.etcd`)
          ? await readFile(`${env.FAKE_SYSTEMCTL_LOG}.etcd`, "utf8")
          : "(never started)";
        assert.equal(result.code, 0, `${result.stderr}\n--- etcd log\n${etcdLog.slice(-3000)}`);
        assert.match(result.stderr, /etcd is healthy on https:\/\/127[.\d]+:2379\/health/);

        const pid = Number(await readFile(env.FAKE_SYSTEMCTL_PIDFILE, "utf8"));
        const status = await readFile(`/proc/${pid}/status`, "utf8");
        assert.match(status, /^Uid:\t4247\t4247\t4247\t4247$/m, "etcd runs as the drop-in's User=");
        const data = await stat(c.dataDir);
        assert.deepEqual([data.uid, data.mode & 0o777], [4247, 0o700]);

        // client-cert-auth: no certificate, no answer.
        const anonymous = await runBash(
          [
            "-c",
            'curl -sS --max-time 5 --cacert "$1" "$2"',
            "curl",
            pki(c, "client-ca.crt"),
            `https://${c.privateIp}:2379/health`,
          ],
          { PATH: process.env.PATH ?? "/usr/bin:/bin" },
          "/",
        );
        assert.notEqual(anonymous.code, 0, `an anonymous client was answered: ${anonymous.stdout}`);

        const timer = await readFile(join(c.dropinDir, "../etcd-asg-renew.timer"), "utf8");
        assert.match(timer, /^OnActiveSec=60$/m);
        // A 1-day certificate renewed at once: the window is a day, checked every hour.
        assert.match(timer, /^OnUnitActiveSec=3600$/m);
        assert.match(timer, /^RandomizedDelaySec=300$/m);
        assert.match(timer, /^WantedBy=timers\.target$/m);
        const service = await readFile(join(c.dropinDir, "../etcd-asg-renew.service"), "utf8");
        assert.match(service, /^Type=oneshot$/m);
        assert.match(service, /^ExecStart=\S*bash \S*\/bootstrap-script\/etcd-asg-boot\.sh -o renew$/m);
        assert.match(service, new RegExp(`^Environment="ETCD_ASG_PKI_DIR=${c.pkiDir}"$`, "m"));
        assert.match(service, /^Environment="ETCD_ASG_NODE_API_URL=http:\/\/127[.\d]+:\d+"$/m);
        assert.match(await readFile(env.FAKE_SYSTEMCTL_LOG, "utf8"), /^enable --now etcd-asg-renew\.timer$/m);

        const key = await readFile(pki(c, "node.key"), "utf8");
        const caBefore = await stat(pki(c, "client-ca.crt"));
        const before = {
          client: await servedSerial(c, 2379, "client-ca.crt"),
          peer: await servedSerial(c, 2380, "peer-ca.crt"),
        };
        assert.equal(before.client, await serialOf(pki(c, "server.crt")));
        assert.equal(before.peer, await serialOf(pki(c, "peer.crt")));

        c.onCertificates((request) => c.issueFor(request.body, c.privateIp));
        const renewal = await runRenewService(c);
        assert.equal(renewal.code, 0, renewal.stderr);
        assert.match(
          renewal.stderr,
          /renewed the certificates of i-\w+; etcd reads them on its next TLS handshakes/,
        );
        assert.equal(c.certificateRequests.length, 2);
        assert.equal(await readFile(pki(c, "node.key"), "utf8"), key, "renewal keeps the key");
        assert.equal(
          (await stat(pki(c, "client-ca.crt"))).ino,
          caBefore.ino,
          "an unchanged CA file is left as is",
        );
        for (const name of ["peer.crt", "server.crt", "node.key"]) {
          assert.equal((await stat(pki(c, name))).uid, 4247, `${name} stays etcd's`);
        }
        const after = {
          client: await servedSerial(c, 2379, "client-ca.crt"),
          peer: await servedSerial(c, 2380, "peer-ca.crt"),
        };
        assert.notEqual(after.client, before.client, "etcd serves the renewed server certificate");
        assert.notEqual(after.peer, before.peer, "etcd serves the renewed peer certificate");
        assert.equal(after.client, await serialOf(pki(c, "server.crt")));
        assert.equal(after.peer, await serialOf(pki(c, "peer.crt")));
        assert.equal(
          Number(await readFile(env.FAKE_SYSTEMCTL_PIDFILE, "utf8")),
          pid,
          "etcd was not restarted",
        );

        // The next tick, before the new renew-at: nothing to do, nothing asked.
        const tick = await runRenewService(c);
        assert.equal(tick.code, 0, tick.stderr);
        assert.match(tick.stderr, /the certificates are not due for renewal before \d{4}-\d\d-\d\dT/);
        assert.equal(c.certificateRequests.length, 2);
      } finally {
        await stopEtcd();
      }
    });
  });

  it("keeps the certificates when a renewal fails, exiting non-zero for the next tick to try again", async () => {
    await withBootCase(async (c) => {
      c.onApi(() => ok(c.config()));
      const now = Math.floor(Date.now() / 1000);
      c.onCertificates((request) =>
        c.issueFor(request.body, c.privateIp, { renewAt: now, notAfter: now + 3600 }),
      );
      const first = await c.run(["-o", "flags"]);
      assert.equal(first.code, 0, first.stderr);
      const files = async () =>
        Object.fromEntries(
          await Promise.all(CERTIFICATE_FILES.map(async (n) => [n, await readFile(pki(c, n), "utf8")])),
        );
      const before = await files();

      c.onCertificates(() => ({ status: 503, body: "KMS is unavailable" }));
      const unavailable = await c.run(["-o", "renew"], { ETCD_ASG_DEADLINE_SECONDS: "1" });
      assert.equal(unavailable.code, 1, unavailable.stderr);
      assert.deepEqual(await files(), before);

      c.onCertificates((request) => c.issueFor(request.body, "127.0.0.1"));
      const wrongIp = await c.run(["-o", "renew"]);
      assert.equal(wrongIp.code, 5, wrongIp.stderr);
      assert.deepEqual(await files(), before);

      c.onCertificates(() => ({ status: 400, body: "CSR refused" }));
      const refused = await c.run(["-o", "renew"]);
      assert.equal(refused.code, 4, refused.stderr);
      assert.deepEqual(await files(), before);
      assert.deepEqual(
        (await readdir(c.pkiDir)).filter((name) => name.startsWith(".")),
        [],
        "no temp files left",
      );

      c.onCertificates((request) => c.issueFor(request.body, c.privateIp));
      const renewed = await c.run(["-o", "renew"]);
      assert.equal(renewed.code, 0, renewed.stderr);
      const after = await files();
      assert.equal(after["node.key"], before["node.key"]);
      assert.notEqual(after["peer.crt"], before["peer.crt"]);
      assert.notEqual(after["server.crt"], before["server.crt"]);
      assert.notEqual(after["renew-at"], before["renew-at"]);
      assert.equal(after["peer-ca.crt"], before["peer-ca.crt"]);
      assert.equal(c.requests.length, 1, "renewal asks for no configuration");
    });
  });

  it("renews nothing before the stored renew-at, asking nothing", async () => {
    await withBootCase(async (c) => {
      c.onApi(() => ok(c.config()));
      const first = await c.run(["-o", "env"]);
      assert.equal(first.code, 0, first.stderr);
      const renewAt = Number(await readFile(pki(c, "renew-at"), "utf8"));
      assert.ok(renewAt > Date.now() / 1000);
      const renew = await c.run(["-o", "renew"]);
      assert.equal(renew.code, 0, renew.stderr);
      assert.match(renew.stderr, /not due for renewal before/);
      assert.equal(c.certificateRequests.length, 1);
    });
  });

  it("exits 6 when the stored node key is not a key openssl reads, asking for no certificate", async () => {
    await withBootCase(async (c) => {
      const result = await rerunWithPkiFile(c, "node.key", "not a key\n", "flags");
      assert.equal(result.code, 6, result.stderr);
      assert.match(
        result.stderr,
        /the node key .*node\.key is not a private key openssl can read: move it aside/,
      );
      assert.equal(c.certificateRequests.length, 1, "only the first run's");
    });
  });

  it("exits 8 when there is no node key to renew for", async () => {
    await withBootCase(async (c) => {
      const result = await c.run(["-o", "renew"]);
      assert.equal(result.code, 8, result.stderr);
      assert.match(
        result.stderr,
        /no node key .*node\.key to renew certificates for: start the node with -o start first/,
      );
      assert.equal(c.certificateRequests.length, 0);
    });
  });

  it("renews when the stored renew-at is not a time", async () => {
    await withBootCase(async (c) => {
      const renew = await rerunWithPkiFile(c, "renew-at", "garbage\n", "renew");
      assert.equal(renew.code, 0, renew.stderr);
      assert.equal(c.certificateRequests.length, 2);
      assert.match(await readFile(pki(c, "renew-at"), "utf8"), /^\d+\n$/);
    });
  });
});
