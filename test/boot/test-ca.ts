// A throwaway pair of certificate authorities made with the real openssl, standing in for the node
// API's CAs (whose keys live in KMS): issues a node's peer certificate (peer CA) and server
// certificate (client CA) for the public key of its CSR, with the SANs the case chooses (the node's
// IP by default, whatever the CSR asks), and answers in the node API's format.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface IssueOptions {
  /** The IP SAN of both certificates. */
  readonly ip: string;
  /** Epoch seconds; default two thirds of a 7-day lifetime from now. */
  readonly renewAt?: number;
  /** Epoch seconds; default 7 days from now. */
  readonly notAfter?: number;
}

export interface NodeCertificates {
  readonly peer: string;
  readonly server: string;
  readonly peerCa: string;
  readonly clientCa: string;
  readonly renewAt: number;
  readonly notAfter: number;
}

export class TestCa {
  private constructor(private readonly dir: string) {}

  /** Makes the peer CA and the client CA in `dir` (the caller removes it). */
  static async create(dir: string): Promise<TestCa> {
    const ca = new TestCa(dir);
    for (const name of ["peer-ca", "client-ca"]) {
      await openssl([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        `/CN=etcd-asg-test ${name}`,
        "-days",
        "2",
        "-keyout",
        join(dir, `${name}.key`),
        "-out",
        join(dir, `${name}.crt`),
      ]);
    }
    return ca;
  }

  /** Peer and server certificates for the key of `csrPem`, naming `options.ip`. */
  async issue(csrPem: string, options: IssueOptions): Promise<NodeCertificates> {
    const now = Math.floor(Date.now() / 1000);
    const notAfter = options.notAfter ?? now + 7 * 86400;
    const renewAt = options.renewAt ?? now + Math.floor((notAfter - now) * (2 / 3));
    const work = await mkdtemp(join(this.dir, "issue-"));
    try {
      const csr = join(work, "node.csr");
      await writeFile(csr, csrPem);
      const extensions = join(work, "node.ext");
      await writeFile(
        extensions,
        [
          "basicConstraints=critical,CA:FALSE",
          "keyUsage=critical,digitalSignature",
          "extendedKeyUsage=serverAuth,clientAuth",
          `subjectAltName=IP:${options.ip}`,
          "",
        ].join("\n"),
      );
      const issued: Record<string, string> = {};
      for (const [kind, ca] of [
        ["peer", "peer-ca"],
        ["server", "client-ca"],
      ] as const) {
        const out = join(work, `${kind}.crt`);
        await openssl([
          "x509",
          "-req",
          "-in",
          csr,
          "-CA",
          join(this.dir, `${ca}.crt`),
          "-CAkey",
          join(this.dir, `${ca}.key`),
          "-set_serial",
          `0x${randomBytes(12).toString("hex")}`,
          "-days",
          "1",
          "-extfile",
          extensions,
          "-out",
          out,
        ]);
        issued[kind] = await readFile(out, "utf8");
      }
      return {
        peer: issued.peer ?? "",
        server: issued.server ?? "",
        peerCa: await this.caPem("peer-ca"),
        clientCa: await this.caPem("client-ca"),
        renewAt,
        notAfter,
      };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  caPem(name: "peer-ca" | "client-ca"): Promise<string> {
    return readFile(join(this.dir, `${name}.crt`), "utf8");
  }

  /** The node API's 200 answer for `certificates` (text/plain `KEY="value"` lines, PEMs in base64). */
  static answerBody(certificates: NodeCertificates): string {
    const b64 = (pem: string) => Buffer.from(pem).toString("base64");
    return [
      `ETCD_ASG_PEER_CERT="${b64(certificates.peer)}"`,
      `ETCD_ASG_SERVER_CERT="${b64(certificates.server)}"`,
      `ETCD_ASG_PEER_CA="${b64(certificates.peerCa)}"`,
      `ETCD_ASG_CLIENT_CA="${b64(certificates.clientCa)}"`,
      `ETCD_ASG_RENEW_AT="${certificates.renewAt}"`,
      `ETCD_ASG_NOT_AFTER="${certificates.notAfter}"`,
      "",
    ].join("\n");
  }
}

/** A fresh EC P-256 key's CSR (PEM), made by openssl in `dir`: a key that is not the node's. */
export async function foreignCsr(dir: string, cn: string): Promise<string> {
  const work = await mkdtemp(join(dir, "foreign-"));
  try {
    const key = join(work, "key.pem");
    await openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]);
    const csr = join(work, "csr.pem");
    await openssl(["req", "-new", "-config", "/dev/null", "-key", key, "-subj", `/CN=${cn}`, "-out", csr]);
    return await readFile(csr, "utf8");
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function openssl(args: readonly string[]): Promise<void> {
  await run("openssl", args, { timeout: 30_000 });
}
