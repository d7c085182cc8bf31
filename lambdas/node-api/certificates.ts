// A node's peer and server certificates, for the key of the CSR it sends: from
// POST /v1/nodes/{id}/certificates (renewal), and with its configuration when the configuration
// request carries the CSR (serve.ts), so a booting node makes one round trip fewer. The caller has
// been proven to be that instance; the certificates name the private IP the control plane recorded
// for it (never anything the CSR asks for), so a node cannot get a certificate for another node's
// address. Which nodes get them is the domain's decision (domain/node-certificates.ts). Answered as
// KEY="value" lines, each PEM base64-encoded, with the time to renew.
import type { LedgerNode } from "../adapters/ledger/items";
import type { NodeCertificates } from "../app/pki";
import type { Runtime } from "../app/ports";
import { certificateRefusal, configCarriesCertificates } from "../domain/node-certificates";
import type { NodeConfig } from "../domain/node-config";
import { BadRequestError } from "./request";
import { type HttpResponse, text } from "./serve";

/** The certificates endpoint: 404 for a node the ledger does not hold, 409 for one it let go. */
export async function issueNodeCertificates(
  rt: Runtime,
  instanceId: string,
  csr: string,
): Promise<HttpResponse> {
  const node = await registeredNode(rt, instanceId);
  const refusal = certificateRefusal(instanceId, node.phase);
  if (refusal !== undefined) return text(409, `${refusal}\n`);
  return text(200, lines(certificateLines(rt, node, await issue(rt, node, csr))));
}

/**
 * Issuance started as a configuration request arrives, for a node the ledger already holds and may
 * issue to, so that KMS signs while the request waits for the decision (the long poll). Undefined
 * otherwise. Awaited only when the answer carries certificates: a rejection is not left unhandled.
 */
export function issueAhead(
  rt: Runtime,
  node: LedgerNode | undefined,
  csr: string,
): Promise<NodeCertificates> | undefined {
  if (node === undefined || certificateRefusal(node.instanceId, node.phase) !== undefined) return undefined;
  const issuing = issue(rt, node, csr);
  issuing.catch(() => undefined);
  return issuing;
}

/**
 * The certificate lines of a configuration answer: none unless the answer starts etcd on a node that
 * may get certificates, read from the ledger after the decision (`node`). `ahead` (issueAhead) is
 * used when it was started; the private IP it names is the same, as the ledger never changes it.
 */
export async function configCertificateLines(
  rt: Runtime,
  config: NodeConfig,
  node: LedgerNode | undefined,
  csr: string,
  ahead: Promise<NodeCertificates> | undefined,
): Promise<string[]> {
  if (node === undefined || !configCarriesCertificates(config, node.instanceId, node.phase)) return [];
  return certificateLines(rt, node, await (ahead ?? issue(rt, node, csr)));
}

async function registeredNode(rt: Runtime, instanceId: string): Promise<LedgerNode> {
  const node = await rt.ledger.getNode(instanceId);
  if (node === undefined) {
    throw new BadRequestError(
      `instance ${instanceId} is not registered with the control plane: ask for its configuration first`,
      404,
    );
  }
  return node;
}

function issue(rt: Runtime, node: LedgerNode, csr: string): Promise<NodeCertificates> {
  return rt.pki.issueNode({ instanceId: node.instanceId, privateIp: node.privateIp }, csr);
}

function certificateLines(rt: Runtime, node: LedgerNode, issued: NodeCertificates): string[] {
  const b64 = (pem: string) => Buffer.from(pem).toString("base64");
  const seconds = (ms: number) => String(Math.floor(ms / 1000));
  rt.logger.info("node certificates issued", {
    privateIp: node.privateIp,
    peerSerial: issued.peer.serialNumber,
    serverSerial: issued.server.serialNumber,
    notAfter: new Date(issued.peer.notAfter).toISOString(),
  });
  return [
    `ETCD_ASG_PEER_CERT="${b64(issued.peer.pem)}"`,
    `ETCD_ASG_SERVER_CERT="${b64(issued.server.pem)}"`,
    `ETCD_ASG_PEER_CA="${b64(issued.peerCaPem)}"`,
    `ETCD_ASG_CLIENT_CA="${b64(issued.clientCaPem)}"`,
    `ETCD_ASG_RENEW_AT="${seconds(Math.min(issued.peer.renewAt, issued.server.renewAt))}"`,
    `ETCD_ASG_NOT_AFTER="${seconds(Math.min(issued.peer.notAfter, issued.server.notAfter))}"`,
  ];
}

function lines(items: readonly string[]): string {
  return `${items.join("\n")}\n`;
}
