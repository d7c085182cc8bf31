// A user's etcd client certificate, for `npx etcd-asg client-cert`: the caller (allowed to invoke this
// function by IAM, which is the whole of the authorization) sends a CSR for a key it keeps and the
// etcd user name; it gets a certificate with that CN, signed by the client CA through KMS, and the CA
// certificate to trust. The CSR's own subject and extensions are ignored. `root` is etcd's
// superuser: its certificates live an hour at most.
import { CONTROL_PLANE_USER } from "../domain/certificates";
import { EtcdAsgError } from "../errors";
import * as z from "../schema";
import type { Runtime } from "./ports";

export class ClientCertificateRequestError extends EtcdAsgError {
  override readonly name = "ClientCertificateRequestError";
}

const HOUR_SECONDS = 3600;
/** Users: a day unless asked, a week at most (a renewal is one command away). */
const DEFAULT_LIFETIME_SECONDS = 24 * HOUR_SECONDS;
const MAX_LIFETIME_SECONDS = 7 * 24 * HOUR_SECONDS;
const ROOT_MAX_LIFETIME_SECONDS = HOUR_SECONDS;

const requestSchema = z.object({
  user: z
    .string()
    .check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, "an etcd user name (letters, digits, . _ @ -)")),
  csr: z.string().check(z.maxLength(16 * 1024)),
  lifetimeSeconds: z.optional(z.int().check(z.gte(900))),
});

export interface ClientCertificateAnswer {
  readonly user: string;
  readonly certificate: string;
  readonly ca: string;
  readonly serialNumber: string;
  readonly notAfter: string;
}

export async function clientCertificate(
  rt: Pick<Runtime, "logger" | "pki">,
  event: unknown,
): Promise<ClientCertificateAnswer> {
  const parsed = requestSchema.safeParse(event);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ClientCertificateRequestError(
      `bad request: ${issue?.path.join(".") || "event"}: ${issue?.message ?? "invalid"} ` +
        '(expected {"user": "<etcd user>", "csr": "<PEM>", "lifetimeSeconds"?: <seconds>})',
    );
  }
  const { user, csr } = parsed.data;
  const max = user === CONTROL_PLANE_USER ? ROOT_MAX_LIFETIME_SECONDS : MAX_LIFETIME_SECONDS;
  const lifetimeSeconds = parsed.data.lifetimeSeconds ?? Math.min(DEFAULT_LIFETIME_SECONDS, max);
  if (lifetimeSeconds > max) {
    throw new ClientCertificateRequestError(
      `lifetimeSeconds ${lifetimeSeconds} is over the ${max} s a certificate for ${user} may live`,
    );
  }
  const { certificate, caPem } = await rt.pki.issueUser(user, csr, lifetimeSeconds * 1000);
  rt.logger.info("client certificate issued", {
    user,
    serialNumber: certificate.serialNumber,
    lifetimeSeconds,
  });
  return {
    user,
    certificate: certificate.pem,
    ca: caPem,
    serialNumber: certificate.serialNumber,
    notAfter: new Date(certificate.notAfter).toISOString(),
  };
}
