// POST /v1/nodes/{id}/certificates: a node's peer and server certificates for the key of the CSR it
// sends. The caller has been proven to be that instance; the certificates name the private IP the
// control plane recorded for it (never anything the CSR asks for), so a node cannot get a certificate
// for another node's address. Answered as KEY="value" lines, each PEM base64-encoded, with the time
// to renew.
import type { Runtime } from "../app/ports";
import { BadRequestError } from "./request";
import { type HttpResponse, text } from "./serve";

export async function issueNodeCertificates(
  rt: Runtime,
  instanceId: string,
  csr: string,
): Promise<HttpResponse> {
  const node = await rt.ledger.getNode(instanceId);
  if (node === undefined) {
    throw new BadRequestError(
      `instance ${instanceId} is not registered with the control plane: ask for its configuration first`,
      404,
    );
  }
  if (node.phase === "removed" || node.phase === "not-a-member") {
    return text(409, `instance ${instanceId} is not a member (${node.phase}): it gets no certificates\n`);
  }
  const issued = await rt.pki.issueNode({ instanceId, privateIp: node.privateIp }, csr);
  const b64 = (pem: string) => Buffer.from(pem).toString("base64");
  const seconds = (ms: number) => String(Math.floor(ms / 1000));
  rt.logger.info("node certificates issued", {
    privateIp: node.privateIp,
    peerSerial: issued.peer.serialNumber,
    serverSerial: issued.server.serialNumber,
    notAfter: new Date(issued.peer.notAfter).toISOString(),
  });
  return text(
    200,
    [
      `ETCD_ASG_PEER_CERT="${b64(issued.peer.pem)}"`,
      `ETCD_ASG_SERVER_CERT="${b64(issued.server.pem)}"`,
      `ETCD_ASG_PEER_CA="${b64(issued.peerCaPem)}"`,
      `ETCD_ASG_CLIENT_CA="${b64(issued.clientCaPem)}"`,
      `ETCD_ASG_RENEW_AT="${seconds(Math.min(issued.peer.renewAt, issued.server.renewAt))}"`,
      `ETCD_ASG_NOT_AFTER="${seconds(Math.min(issued.peer.notAfter, issued.server.notAfter))}"`,
      "",
    ].join("\n"),
  );
}
