// The etcd adapter as integration tests use it: closed when the test ends, with a status timeout
// generous enough that a healthy member on a loaded two-core machine is never taken for a dead one.
import type { TestContext } from "node:test";
import { EtcdMembership } from "../../../lambdas/adapters/etcd";

export const TEST_STATUS_TIMEOUT_MS = 2000;

export function membershipFor(t: TestContext, endpoints: readonly string[]): EtcdMembership {
  const membership = new EtcdMembership({ endpoints, statusTimeoutMs: TEST_STATUS_TIMEOUT_MS });
  t.after(() => membership.close());
  return membership;
}
