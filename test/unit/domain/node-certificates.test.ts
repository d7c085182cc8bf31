// Which nodes get certificates, and which configuration answers carry them (pure).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { certificateRefusal, configCarriesCertificates } from "../../../lambdas/domain/node-certificates";
import type { NodeConfig } from "../../../lambdas/domain/node-config";
import { NODE_PHASES } from "../../../lambdas/domain/snapshot";

const ID = "i-0123456789abcdef0";
const ETCD = {
  name: ID,
  initialCluster: `${ID}=https://10.0.0.9:2380`,
  initialClusterState: "existing",
  initialClusterToken: "etcd-asg-gen-1",
  initialAdvertisePeerUrls: "https://10.0.0.9:2380",
  listenPeerUrls: "https://10.0.0.9:2380",
  listenClientUrls: "https://10.0.0.9:2379",
  advertiseClientUrls: "https://10.0.0.9:2379",
  dataDir: "/var/lib/etcd",
  quotaBackendBytes: 2_147_483_648,
  autoCompactionMode: "periodic",
  autoCompactionRetention: "30m",
} as const;

describe("node certificates", () => {
  test("a node the cluster let go (removed, not a member) gets none, naming the phase; any other may", () => {
    for (const phase of NODE_PHASES) {
      const refusal = certificateRefusal(ID, phase);
      if (phase === "removed" || phase === "not-a-member") {
        assert.equal(refusal, `instance ${ID} is not a member (${phase}): it gets no certificates`);
      } else {
        assert.equal(refusal, undefined, phase);
      }
    }
  });

  test("a configuration answer carries them only when it starts etcd on a node that may get them", () => {
    const learner: NodeConfig = { role: "learner", reason: "join", etcd: ETCD };
    assert.equal(configCarriesCertificates(learner, ID, "joining"), true);
    assert.equal(configCarriesCertificates({ ...learner, role: "member" }, ID, "bootstrapping"), true);
    assert.equal(configCarriesCertificates(learner, ID, "removed"), false);
    for (const role of ["wait", "not-a-member", "refused"] as const) {
      assert.equal(
        configCarriesCertificates({ role, reason: "r", etcd: undefined }, ID, "registered"),
        false,
        role,
      );
    }
  });
});
