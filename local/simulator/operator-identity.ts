// The operator's etcd identity in the simulator: a client certificate for etcd's root user, got the
// way an operator gets one from a deployed stack — a key and a CSR made here with openssl, sent to the
// stack's client-cert function through Lambda's Invoke API with the operator's IAM credentials. The
// tests, the demo's checks and the chaos writer talk to etcd with it. Renewed before it expires.
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { newKeyAndCsr } from "../key-and-csr";

/** What an etcd client presents and trusts. */
export interface EtcdTls {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export interface OperatorIdentityOptions {
  readonly lambdaEndpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** The client-cert function's name (the deployed stack's). */
  readonly functionName: () => string;
}

export class ClientCertificateError extends Error {
  override readonly name = "ClientCertificateError";
}

/** Renewed this long before it expires. */
const RENEW_BEFORE_MS = 10 * 60_000;

export class OperatorIdentity {
  private current: Promise<EtcdTls & { notAfter: number }> | undefined;

  constructor(private readonly options: OperatorIdentityOptions) {}

  async tls(): Promise<EtcdTls> {
    const held = await this.current;
    if (held === undefined || Date.now() > held.notAfter - RENEW_BEFORE_MS) {
      this.current = this.issue();
      this.current.catch(() => {
        this.current = undefined;
      });
    }
    return (await this.current) as EtcdTls;
  }

  private async issue(): Promise<EtcdTls & { notAfter: number }> {
    const { keyPem: key, csrPem: csr } = newKeyAndCsr("root");
    const client = new LambdaClient({
      endpoint: this.options.lambdaEndpoint,
      region: this.options.region,
      credentials: this.options.credentials,
    });
    try {
      const answer = await client.send(
        new InvokeCommand({
          FunctionName: this.options.functionName(),
          Payload: JSON.stringify({ user: "root", csr, lifetimeSeconds: 3600 }),
        }),
      );
      const payload = JSON.parse(Buffer.from(answer.Payload ?? new Uint8Array()).toString("utf8")) as {
        certificate?: string;
        ca?: string;
        notAfter?: string;
        errorMessage?: string;
      };
      if (
        answer.FunctionError !== undefined ||
        payload.certificate === undefined ||
        payload.ca === undefined
      ) {
        throw new ClientCertificateError(
          `the client-cert function refused the operator's certificate: ${payload.errorMessage ?? JSON.stringify(payload)}`,
        );
      }
      return { ca: payload.ca, cert: payload.certificate, key, notAfter: Date.parse(payload.notAfter ?? "") };
    } finally {
      client.destroy();
    }
  }
}
