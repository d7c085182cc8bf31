// The chaos writer, on its own: a write no member takes is not acknowledged, the stretch with no
// write acknowledged grows while none is, and the writer keeps why the latest write failed (which
// no-quorum-loss quotes), here a real etcd3 client over TLS refused at a port nothing listens on.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { QuorumWriter } from "../../chaos/writer";
import type { EtcdTls } from "../../local/simulator/operator-identity";
import type { Simulator } from "../../local/simulator/simulator";

/** A self-signed certificate and its key, made by openssl: the client needs some to present. */
function throwawayTls(): EtcdTls {
  const dir = mkdtempSync(join(tmpdir(), "etcd-asg-writer-"));
  try {
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
        ...["-subj", "/CN=writer-test", "-days", "1"],
        ...["-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")],
      ],
      { stdio: "ignore" },
    );
    const cert = readFileSync(join(dir, "cert.pem"), "utf8");
    return { ca: cert, cert, key: readFileSync(join(dir, "key.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a write no member takes is not acknowledged, and the writer says why", async () => {
  const tls = throwawayTls();
  // The two things the writer asks of a simulator: where the members are, and the operator's TLS.
  const sim = { clientUrls: () => ["https://127.0.0.1:9"], etcdTls: async () => tls } as unknown as Simulator;
  const writer = new QuorumWriter(sim, "writer-test", 10);
  writer.start();
  await sleep(400);
  await writer.stop();
  assert.ok(writer.attempts >= 1, "the writer made no attempt");
  assert.equal(writer.acknowledged.size, 0);
  assert.match(
    writer.lastFailure ?? "",
    /put writer-test\/\d{6}: no member answered among https:\/\/127\.0\.0\.1:9: \S/,
  );
  const outage = writer.longestOutage();
  assert.ok(
    outage.toMs - outage.fromMs >= 400,
    `the stretch without writes is ${outage.toMs - outage.fromMs} ms`,
  );
});
