// "Is this member healthy?" as both sides of every figure ask it: GET /health over mutual TLS with
// the operator's certificate, true when etcd answers {"health":"true"} (it has a leader and no
// alarm). One keep-alive agent per probe, so a poll costs a request, not a TLS handshake.
import { Agent, request } from "node:https";
import type { EtcdTls } from "../local/simulator/operator-identity";

const REQUEST_TIMEOUT_MS = 500;

export class HealthProbe {
  private readonly agent: Agent;

  constructor(tls: EtcdTls) {
    this.agent = new Agent({ keepAlive: true, ca: tls.ca, cert: tls.cert, key: tls.key });
  }

  isHealthy(clientUrl: string): Promise<boolean> {
    return new Promise((resolve) => {
      const req = request(
        `${clientUrl}/health`,
        { agent: this.agent, timeout: REQUEST_TIMEOUT_MS },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", () => resolve(false));
          res.on("end", () => resolve(healthy(Buffer.concat(chunks).toString())));
        },
      );
      req.on("timeout", () => req.destroy(new Error("timed out")));
      req.on("error", () => resolve(false));
      req.end();
    });
  }

  async allHealthy(clientUrls: readonly string[]): Promise<boolean> {
    return (await Promise.all(clientUrls.map((url) => this.isHealthy(url)))).every(Boolean);
  }

  close(): void {
    this.agent.destroy();
  }
}

function healthy(body: string): boolean {
  try {
    return (JSON.parse(body) as { health?: unknown }).health === "true";
  } catch {
    return false;
  }
}
