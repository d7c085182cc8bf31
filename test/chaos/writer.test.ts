// The chaos writer, on its own: a write no member takes is not acknowledged, the stretch with no
// write acknowledged grows while none is and ends when the writer stops, and the writer keeps why
// the latest write failed (which no-quorum-loss quotes), here a real etcd3 client over TLS refused
// at a port nothing listens on.
// A put under way when a majority is lost and acknowledged after is judged by its revision (seed
// 15389 of the campaign found it judged as neither, then missing): the test holds the answer of a
// put through the writer's put function, since the moment cannot be had from etcd on demand.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type PutWrite, QuorumWriter } from "../../chaos/writer";
import type { EtcdTls } from "../../local/simulator/operator-identity";
import type { Simulator } from "../../local/simulator/simulator";

/** The two things the writer asks of a simulator: where the members are, and the operator's TLS. */
function standIn(urls: string[], tls: EtcdTls): Simulator {
  return { clientUrls: () => urls, etcdTls: async () => tls } as unknown as Simulator;
}

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
  const writer = new QuorumWriter(standIn(["https://127.0.0.1:9"], tls), "writer-test", 10);
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
  // The stretch ends at the stop: what the harness does after it (settling, checking) is not counted.
  await sleep(300);
  assert.deepEqual(writer.longestOutage(), outage, "the stretch grew after the writer stopped");
});

test("a put under way when a majority is lost is judged by its revision once acknowledged", async () => {
  const SNAPSHOT_REVISION = 5;
  for (const [revision, judged] of [
    [7, "atRisk"],
    [3, "preSnapshot"],
  ] as const) {
    let held: string | undefined;
    let answer: (revision: number) => void = () => undefined;
    let putHeld: () => void = () => undefined;
    const holding = new Promise<void>((resolve) => {
      putHeld = resolve;
    });
    // The first put waits for the test's answer; the ones after fail (no majority is left).
    const put: PutWrite = (_urls, _tls, key) => {
      if (held !== undefined) return Promise.reject(new Error("no member answered"));
      held = key;
      putHeld();
      return new Promise((answered) => {
        answer = answered;
      });
    };
    const writer = new QuorumWriter(standIn([], { ca: "", cert: "", key: "" }), `late-${revision}`, 10, put);
    writer.start();
    await holding;
    assert.equal(writer.markLoss(SNAPSHOT_REVISION), 0, "nothing was acknowledged before the loss");
    answer(revision);
    await writer.stop();
    assert.ok(held !== undefined && writer.acknowledged.has(held), "the held put was acknowledged");
    assert.ok(writer[judged].has(held), `revision ${revision} is not judged ${judged}`);
  }
});
