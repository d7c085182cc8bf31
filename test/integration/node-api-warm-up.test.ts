// The launch rule's warm-up input to the node API: the container loads both certificate authorities
// (publishing them on a new cluster) and mints the control plane's etcd identity while the node
// boots, so the node's first request signs only its own certificates. Best effort: with KMS failing
// it says so and throws nothing. Real runtime, dynalite and KMS.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { warmUp } from "../../lambdas/app/warm-up";
import { newKeyAndCsr } from "../../local/key-and-csr";
import { ControlPlaneBed, parseEnv } from "../helpers/control-plane";
import { askConfig, deliverLaunches, eventually } from "../helpers/control-plane-flows";

const context = { awsRequestId: "warm-up-test" };

/** The launches handled, the first node's configuration request with its CSR: the answer's body. */
async function firstNodeAsks(bed: ControlPlaneBed): Promise<string> {
  await eventually("3 launch events", () => (bed.eventsFor("launch").length === 3 ? true : undefined));
  await deliverLaunches(bed);
  const [first] = bed.instanceIds();
  assert.ok(first);
  const answer = await askConfig(bed, first, { csr: newKeyAndCsr(first).csrPem, query: { wait: "10" } });
  assert.equal(answer.statusCode, 200, answer.body);
  return answer.body;
}

describe("node API: the warm-up input", () => {
  test("loads both CAs and the control plane's identity, so a node's first request signs only its own certificates", async (t) => {
    const bed = await ControlPlaneBed.start(t, { clusterSize: 3, capacity: 3 });
    const signs = () => bed.kms.callCounts().Sign ?? 0;
    const result = await warmUp(bed.runtime, context);
    assert.equal(result.warmedUp, true);
    assert.equal(signs(), 3, "two CA certificates self-signed and published, one identity minted");
    await warmUp(bed.runtime, context);
    assert.equal(signs(), 3, "a second warm-up finds everything loaded");

    const answer = await firstNodeAsks(bed);
    assert.equal(parseEnv(answer).ETCD_ASG_DECISION, "member");
    assert.equal(signs(), 5, "then the node's peer and server certificates only");
  });

  test("with KMS failing it answers that it did not warm up, throws nothing, and the next request loads what it needs", async (t) => {
    const bed = await ControlPlaneBed.start(t, { clusterSize: 3, capacity: 3 });
    bed.kms.injectFaults(() => "internal");
    const result = await warmUp(bed.runtime, context);
    bed.kms.injectFaults(undefined);
    assert.equal(result.warmedUp, false);

    assert.match(await firstNodeAsks(bed), /ETCD_ASG_PEER_CERT=/);
  });
});
