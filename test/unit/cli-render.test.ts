// `etcd-asg status` for people: the cluster line names etcd's cluster version the ledger records (or
// says it is not recorded yet), and the instances table the etcd release each node reported.
import assert from "node:assert/strict";
import { test } from "node:test";
import { renderStatus } from "../../cli/render";
import type { ClusterStatus } from "../../lambdas/domain/cluster-status";

const status = (etcdVersion: string | undefined): ClusterStatus => ({
  cluster: { token: "t", generation: 1, size: 3, state: "running", etcdVersion },
  leader: undefined,
  members: [],
  instances: [
    {
      id: "i-1",
      lifecycleState: "InService",
      privateIp: "10.0.0.1",
      phase: "member",
      memberId: "1",
      etcdVersion: "3.5.21",
    },
    {
      id: "i-2",
      lifecycleState: "Pending:Wait",
      privateIp: undefined,
      phase: undefined,
      memberId: undefined,
      etcdVersion: undefined,
    },
  ],
  pendingLifecycleActions: [],
  lastSnapshot: undefined,
  drift: [],
});

test("names the recorded etcd cluster version and each instance's reported release", () => {
  const text = renderStatus("s", status("3.5"));
  assert.match(text, /^stack s: generation 1, running, size 3, token t, etcd 3\.5$/m);
  assert.match(text, /INSTANCE\s+LIFECYCLE STATE\s+PRIVATE IP\s+PHASE\s+MEMBER\s+ETCD/);
  assert.match(text, /i-1\s+InService\s+10\.0\.0\.1\s+member\s+1\s+3\.5\.21/);
  assert.match(text, /i-2\s+Pending:Wait\s+-\s+-\s+-\s+-/);
});

test("says when no cluster version is recorded yet", () => {
  assert.match(renderStatus("s", status(undefined)), /token t, etcd version not recorded yet$/m);
});
