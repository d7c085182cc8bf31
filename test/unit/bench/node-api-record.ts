// A node-API invocation as the simulator reports it, for the critical-path tests: the instance's role
// session names the caller, the raw path the route.
import type { InvocationRecord } from "../../../local/simulator/lambda-function";

export function nodeApi(
  instanceId: string,
  path: string,
  invokedAt: number,
  endedAt: number,
  coldStartMs = 0,
): InvocationRecord {
  return {
    fn: "node-api",
    event: {
      rawPath: `/v1/nodes/${instanceId}${path}`,
      requestContext: {
        authorizer: { iam: { userArn: `arn:aws:sts::000000000000:assumed-role/NodeRole/${instanceId}` } },
      },
    },
    invokedAt,
    startedAt: invokedAt + coldStartMs,
    endedAt,
    coldStartMs,
  };
}
