import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { START_AFTER_CLOSED_MS, startAfter } from "../../../lambdas/domain/start-order";

const peers = ["https://127.0.1.9:2380", "https://127.0.1.10:2380", "https://127.0.1.11:2380"];

describe("which member an initial member starts after", () => {
  test("every member waits for the one whose peer URL etcd asks first: string order, not numeric", () => {
    assert.deepEqual(startAfter(peers, peers[0] as string), {
      peerUrl: "https://127.0.1.10:2380",
      closedMs: START_AFTER_CLOSED_MS,
    });
    assert.deepEqual(startAfter(peers, peers[2] as string)?.peerUrl, "https://127.0.1.10:2380");
  });

  test("the member every other waits for waits for nobody", () => {
    assert.equal(startAfter(peers, "https://127.0.1.10:2380"), undefined);
  });

  test("a node that is not an initial member, or a cluster of one, waits for nobody", () => {
    assert.equal(startAfter(peers, "https://127.0.1.12:2380"), undefined);
    assert.equal(startAfter([peers[0] as string], peers[0] as string), undefined);
  });
});
