// The node API's behaviour: after the caller is proven to be the instance it asks about, serve its
// published configuration (deciding it first when none is published yet or the last answer was
// "wait", and holding a "wait" up to the request's `wait` seconds) with the restore a node of a
// recovered generation makes first and, when the request carries the node's CSR, its certificates;
// handle its "ready", or issue its certificates (renewal).

import type { LedgerNode } from "../adapters/ledger/items";
import type { SnapshotStore } from "../adapters/snapshots";
import { nodeReady } from "../app/node-ready";
import type { Runtime } from "../app/ports";
import type { EtcdStorageSettings } from "../domain/etcd-storage";
import type { NodeConfig } from "../domain/node-config";
import * as z from "../schema";
import { awaitConfig } from "./await-config";
import { configCertificateLines, issueAhead, issueNodeCertificates } from "./certificates";
import { callerInstance, parseNodeRole, requireSelf } from "./identity";
import { render, safeValue } from "./render";
import { BadRequestError, type NodeRequest } from "./request";
import { restoreFor } from "./restore";

export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Answers served from the ledger without deciding again. `not-a-member` is not among them: a node
 * left out of a full cluster stands by, and is let in once a member leaves. `refused` is: an etcd
 * version the cluster must not take stays refused, and its launch was abandoned. */
const FINAL_ROLES = new Set(["member", "learner", "refused"]);

const storedConfigSchema = z.object({
  role: z.enum(["member", "learner", "not-a-member", "refused", "wait"]),
  reason: z.string(),
  etcd: z.optional(
    z.object({
      name: z.string(),
      initialCluster: z.string(),
      initialClusterState: z.enum(["new", "existing"]),
      initialClusterToken: z.string(),
      initialAdvertisePeerUrls: z.string(),
      listenPeerUrls: z.string(),
      listenClientUrls: z.string(),
      advertiseClientUrls: z.string(),
      dataDir: z.string(),
    }),
  ),
});

/** `snapshots`: the snapshot bucket, where the function has one (a restoring node's presigned GET). */
export async function serveNodeRequest(
  rt: Runtime,
  request: NodeRequest,
  snapshots?: () => Promise<SnapshotStore>,
): Promise<HttpResponse> {
  requireSelf(
    callerInstance(request.callerArn, parseNodeRole(rt.config.instanceRoleArn)),
    request.instanceId,
  );
  rt.logger.appendKeys({ instanceId: request.instanceId });
  if (request.route === "certificates") return issueNodeCertificates(rt, request.instanceId, request.csr);
  if (request.route === "ready") {
    const result = await nodeReady(rt, request.instanceId);
    const status = { member: 200, waiting: 202, refused: 409 }[result.status];
    return text(
      status,
      `ETCD_ASG_STATUS="${result.status}"\nETCD_ASG_REASON="${safeValue(result.reason)}"\n`,
    );
  }
  const node = await rt.ledger.getNode(request.instanceId);
  const { csr } = request;
  // KMS signs while the request waits for the decision; the answer carries the result only if the
  // decision starts etcd.
  const ahead = csr === undefined ? undefined : issueAhead(rt, node, csr);
  const stored = published(node, rt.config.storage);
  // A published answer is final and never `new`: it restores nothing, so no cluster record is needed.
  const { config, cluster } =
    stored === undefined
      ? await awaitConfig(rt, request.instanceId, {
          waitMs: request.waitMs,
          standby: request.standby,
          etcdVersion: request.etcdVersion,
          // A held answer may turn into a restore (a recovered generation): the bucket's client
          // loads during the wait instead of after the decision.
          onHold: () => void snapshots?.().catch(() => undefined),
        })
      : { config: stored, cluster: undefined };
  // The node's record after the decision: as read above, unless the decision was made (and published) now.
  const decided = async () => (stored === undefined ? rt.ledger.getNode(request.instanceId) : node);
  const [restore, certificates] = await Promise.all([
    restoreFor(rt, config, cluster, request.etcdVersion, snapshots),
    csr === undefined ? [] : decided().then((after) => configCertificateLines(rt, config, after, csr, ahead)),
  ]);
  if (restore !== undefined && request.format !== "env" && request.format !== "json") {
    // Flags or a drop-in alone would start an empty cluster in place of the restored data.
    throw new BadRequestError(
      `${request.instanceId} restores a snapshot before etcd's first start, which format=${request.format} cannot carry: ask for format=env or json`,
    );
  }
  const rendered = render(config, request.format, restore);
  return {
    statusCode: config.role === "wait" ? 202 : 200,
    headers: { "content-type": rendered.contentType },
    body: rendered.body + certificates.map((line) => `${line}\n`).join(""),
  };
}

/**
 * A final answer already published is served as is: no AWS or etcd call on a repeated query. A
 * `new` answer is never final: it is decided again, so a node asking after the cluster runs is told
 * `existing`. The storage settings are the stack's current ones, whatever the record holds: they
 * follow the deployment (volume size, retention), not the decision, and a record published before
 * they existed has none.
 */
function published(node: LedgerNode | undefined, storage: EtcdStorageSettings): NodeConfig | undefined {
  // A removed node's last answer is history, not its configuration.
  if (node?.config === undefined || node.phase === "removed") return undefined;
  const parsed = storedConfigSchema.safeParse(node.config);
  if (!parsed.success || !FINAL_ROLES.has(parsed.data.role)) return undefined;
  if (parsed.data.etcd?.initialClusterState === "new") return undefined;
  const { etcd } = parsed.data;
  return {
    role: parsed.data.role,
    reason: parsed.data.reason,
    etcd: etcd === undefined ? undefined : { ...etcd, ...storage },
  };
}

export function text(statusCode: number, body: string): HttpResponse {
  return { statusCode, headers: { "content-type": "text/plain" }, body };
}
