// Runs the real boot script for one test case: a fresh temp root, an IMDSv2 server for a simulated
// instance (with answers the case may replace, for the instance IMDS would describe otherwise), a
// local node API answering as the case scripts it (and checking every request's SigV4 signature),
// with a throwaway CA (openssl) issuing certificates unless the case scripts those too (as the node
// API, for a certificate request and for a configuration request that carries a CSR),
// fake executables on PATH, and cleanup of everything it started.
import { spawn } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ImdsServer, type InstanceRoleCredentials } from "../../local/imds/imds-server";
import { sigv4Problem } from "./sigv4";
import { TestCa } from "./test-ca";

export const SCRIPT = resolve(__dirname, "../../bootstrap-script/etcd-asg-boot.sh");
export const REGION = "eu-west-1";

export interface ApiRequest {
  readonly method: string;
  readonly url: string;
  /** Undefined when the request carried a valid SigV4 signature by the instance role. */
  readonly signatureProblem: string | undefined;
  readonly securityToken: string | undefined;
  readonly contentType: string | undefined;
  readonly body: string;
}

export interface ApiAnswer {
  readonly status: number;
  readonly body?: string;
}

/** Answers the n-th request (0-based) to the node API. */
export type ApiHandler = (request: ApiRequest, n: number) => ApiAnswer;

/** Answers the n-th certificate issuance (0-based): `POST /v1/nodes/<id>/certificates`, or a
 * configuration request that carries a CSR and is answered as a member or learner (its answer is
 * the configuration's followed by this one's, or this one's alone when it is not a 200). */
export type CertificateHandler = (request: ApiRequest, n: number) => ApiAnswer | Promise<ApiAnswer>;

/** What the stand-in systemctl needs in the script's env, and a stop for the etcd it started. */
export interface FakeSystemctl {
  readonly env: { readonly FAKE_SYSTEMCTL_LOG: string; readonly FAKE_SYSTEMCTL_PIDFILE: string };
  /** SIGTERM to the etcd it started (SIGKILL after 5 s); nothing when none runs. */
  stopEtcd(): Promise<void>;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A loopback address of its own, standing in for an instance's private IP. */
export function instanceIp(): string {
  return `127.${randomInt(100, 250)}.${randomInt(1, 255)}.${randomInt(2, 255)}`;
}

export class BootCase {
  readonly instanceId = `i-${randomBytes(8).toString("hex")}`;
  /** A loopback address of its own stands in for the instance's private IP. */
  readonly privateIp = instanceIp();
  readonly credentials: InstanceRoleCredentials = {
    AccessKeyId: `ASIA${randomBytes(8).toString("hex").toUpperCase()}`,
    SecretAccessKey: randomBytes(30).toString("base64"),
    Token: randomBytes(60).toString("base64"),
    Expiration: "2099-01-01T00:00:00Z",
  };
  /** Every request to the node API but the certificate requests, which go to `certificateRequests`
   * (a configuration request answered with certificates is in both). */
  readonly requests: ApiRequest[] = [];
  readonly certificateRequests: ApiRequest[] = [];
  /** `METHOD path` of every request to IMDS, once `replaceImdsAnswers` put its front in the way. */
  readonly imdsRequests: string[] = [];
  readonly imds: ImdsServer;
  root = "";
  binDir = "";
  dataDir = "";
  dropinDir = "";
  pkiDir = "";
  /** The stand-in CAs, in a temp dir of their own (not under `root`). */
  ca!: TestCa;
  private caDir = "";
  private api: Server | undefined;
  private imdsFront: Server | undefined;
  private apiUrl = "";
  /** Kept after the IMDS server stops, for the "IMDS down" cases. */
  imdsEndpoint = "";
  private handler: ApiHandler = () => ({ status: 500, body: "no handler" });
  private certificateHandler: CertificateHandler = async (request) =>
    this.issueFor(request.body, this.privateIp);

  constructor() {
    this.imds = new ImdsServer({
      instanceId: this.instanceId,
      privateIp: this.privateIp,
      region: REGION,
      availabilityZone: `${REGION}a`,
      roleName: "etcd-asg-node",
      credentials: this.credentials,
    });
  }

  static async create(): Promise<BootCase> {
    const c = new BootCase();
    c.root = await mkdtemp(join(tmpdir(), "etcd-asg-boot-"));
    c.binDir = join(c.root, "bin");
    c.dataDir = join(c.root, "var/lib/etcd");
    c.dropinDir = join(c.root, "etc/systemd/system/etcd.service.d");
    c.pkiDir = join(c.root, "etc/etcd/pki");
    c.caDir = await mkdtemp(join(tmpdir(), "etcd-asg-boot-ca-"));
    c.ca = await TestCa.create(c.caDir);
    await c.imds.start({ host: c.privateIp });
    c.imdsEndpoint = c.imds.endpoint;
    c.api = createServer((req, res) => {
      void c
        .answer(req)
        .catch((error: unknown) => ({ status: 500, body: `stand-in node API failed: ${String(error)}` }))
        .then((answer) => {
          res.writeHead(answer.status, { "content-type": "text/plain" });
          res.end(answer.body ?? "");
        });
    });
    const api = c.api;
    await new Promise<void>((done) => api.listen(0, c.privateIp, done));
    c.apiUrl = `http://${c.privateIp}:${(api.address() as AddressInfo).port}`;
    return c;
  }

  /** The node API's answers for this case. */
  onApi(handler: ApiHandler): void {
    this.handler = handler;
  }

  /** The node API's answers to certificate requests; by default the stand-in CAs issue for the
   * CSR's key and this instance's IP. */
  onCertificates(handler: CertificateHandler): void {
    this.certificateHandler = handler;
  }

  /** A 200 certificate answer from the stand-in CAs for the key of `csrPem`, naming `ip`. */
  async issueFor(
    csrPem: string,
    ip: string,
    times: { renewAt?: number; notAfter?: number } = {},
  ): Promise<ApiAnswer> {
    return { status: 200, body: TestCa.answerBody(await this.ca.issue(csrPem, { ip, ...times })) };
  }

  /** A published configuration for this instance as the node API sends it (`format=env`), with
   * https URLs as the node API publishes them. */
  config(overrides: Record<string, string | undefined> = {}): string {
    const peer = `https://${this.privateIp}:2380`;
    const fields: Record<string, string | undefined> = {
      ETCD_ASG_DECISION: "member",
      ETCD_ASG_REASON: "bootstrap: one of the first 1 registered instances",
      ETCD_NAME: this.instanceId,
      ETCD_INITIAL_CLUSTER: `${this.instanceId}=${peer}`,
      ETCD_INITIAL_CLUSTER_STATE: "new",
      ETCD_INITIAL_CLUSTER_TOKEN: "etcd-asg-gen-1",
      ETCD_INITIAL_ADVERTISE_PEER_URLS: peer,
      ETCD_LISTEN_PEER_URLS: peer,
      ETCD_LISTEN_CLIENT_URLS: `https://${this.privateIp}:2379`,
      ETCD_ADVERTISE_CLIENT_URLS: `https://${this.privateIp}:2379`,
      ETCD_DATA_DIR: this.dataDir,
      ...overrides,
    };
    return Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}="${value}"\n`)
      .join("");
  }

  /**
   * IMDS answers these paths (with a valid token) as given instead of as the instance: the script
   * then talks to a front on the instance's address that passes everything else to the real IMDS.
   */
  async replaceImdsAnswers(answers: Record<string, ApiAnswer>): Promise<void> {
    const upstream = new URL(this.imds.endpoint);
    const front = createServer((req, res) => {
      this.imdsRequests.push(`${req.method} ${req.url}`);
      const forwarded = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          const replaced = answers[req.url ?? ""];
          // A 401 (no or expired token) stays a 401: the handshake is the real IMDS's.
          if (replaced === undefined || answer.statusCode !== 200) {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
            return;
          }
          answer.resume();
          res.writeHead(replaced.status, { "content-type": "text/plain" });
          res.end(replaced.body ?? "");
        },
      );
      forwarded.on("error", () => res.destroy());
      req.pipe(forwarded);
    });
    this.imdsFront = front;
    await new Promise<void>((done) => front.listen(0, this.privateIp, done));
    this.imdsEndpoint = `http://${this.privateIp}:${(front.address() as AddressInfo).port}`;
  }

  /**
   * Puts test/boot/fixtures/fake-systemctl.sh on PATH as systemctl: `restart etcd` runs the real
   * etcd from the script's drop-in, as systemd would.
   */
  async fakeSystemctl(): Promise<FakeSystemctl> {
    await mkdir(this.binDir, { recursive: true });
    await copyFile(join(__dirname, "fixtures/fake-systemctl.sh"), join(this.binDir, "systemctl"));
    const env = {
      FAKE_SYSTEMCTL_LOG: join(this.root, "systemctl.log"),
      FAKE_SYSTEMCTL_PIDFILE: join(this.root, "etcd.pid"),
    };
    const stopEtcd = async () => {
      const pid = Number(await readFile(env.FAKE_SYSTEMCTL_PIDFILE, "utf8").catch(() => ""));
      if (!pid) return;
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        return; // already gone
      }
      for (let i = 0; i < 50; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          return;
        }
        await new Promise((done) => setTimeout(done, 100));
      }
      process.kill(pid, "SIGKILL");
    };
    return { env, stopEtcd };
  }

  /** Puts an executable script named `name` first on the script's PATH. */
  async fakeExecutable(name: string, body: string): Promise<void> {
    await mkdir(this.binDir, { recursive: true });
    const path = join(this.binDir, name);
    await writeFile(path, `#!/usr/bin/env bash\n${body}\n`);
    await chmod(path, 0o755);
  }

  /** Runs the script with bash; `env` overrides the defaults below. */
  run(
    args: readonly string[],
    env: Record<string, string | undefined> = {},
    bashArgs: readonly string[] = [],
  ): Promise<RunResult> {
    const fullEnv: Record<string, string> = {};
    const merged: Record<string, string | undefined> = {
      PATH: `${this.binDir}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      HOME: this.root,
      TMPDIR: this.root,
      ETCD_ASG_NODE_API_URL: this.apiUrl,
      ETCD_ASG_IMDS_ENDPOINT: this.imdsEndpoint,
      ETCD_ASG_DROPIN_DIR: this.dropinDir,
      ETCD_ASG_PKI_DIR: this.pkiDir,
      // The tests' own UID: no system user is made on the test machine.
      ETCD_ASG_ETCD_USER: String(process.getuid?.() ?? 0),
      ETCD_ASG_DEADLINE_SECONDS: "10",
      ETCD_ASG_BACKOFF_INITIAL_MS: "20",
      ETCD_ASG_BACKOFF_MAX_MS: "200",
      ETCD_ASG_ETCD_BIN: "/usr/bin/etcd",
      ...env,
    };
    for (const [key, value] of Object.entries(merged)) if (value !== undefined) fullEnv[key] = value;
    return runBash([...bashArgs, SCRIPT, ...args], fullEnv, this.root);
  }

  /** Loads the script's functions (its source guard keeps main from running) and runs `snippet`. */
  runFunctions(snippet: string, env: Record<string, string | undefined> = {}): Promise<RunResult> {
    return this.run([], env, ["-c", `source "$1"; ${snippet}`, "bash"]);
  }

  async cleanup(): Promise<void> {
    const front = this.imdsFront;
    if (front) {
      front.closeAllConnections();
      await new Promise<void>((done) => front.close(() => done()));
    }
    await this.imds.stop();
    const api = this.api;
    if (api) {
      api.closeAllConnections();
      await new Promise<void>((done) => api.close(() => done()));
    }
    if (this.root) await rm(this.root, { recursive: true, force: true });
    if (this.caDir) await rm(this.caDir, { recursive: true, force: true });
  }

  private async answer(req: IncomingMessage): Promise<ApiAnswer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const token = req.headers["x-amz-security-token"];
    const contentType = req.headers["content-type"];
    const request: ApiRequest = {
      method: req.method ?? "",
      url: req.url ?? "",
      signatureProblem: sigv4Problem(
        { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) },
        {
          accessKeyId: this.credentials.AccessKeyId,
          secretAccessKey: this.credentials.SecretAccessKey,
          region: REGION,
          service: "lambda",
        },
      ),
      securityToken: typeof token === "string" ? token : undefined,
      contentType,
      body: Buffer.concat(chunks).toString(),
    };
    const certificates = /^\/v1\/nodes\/[^/]+\/certificates$/.test(request.url);
    const log = certificates ? this.certificateRequests : this.requests;
    log.push(request);
    // Like a Lambda function URL with IAM auth: an unsigned or badly signed request never reaches the code.
    if (request.signatureProblem !== undefined || request.securityToken !== this.credentials.Token) {
      return { status: 403, body: `{"Message":"Forbidden: ${request.signatureProblem ?? "bad token"}"}` };
    }
    if (certificates) return this.certificateHandler(request, log.length - 1);
    const answer = this.handler(request, log.length - 1);
    return isConfigRequest(request) && request.body !== "" ? this.withCertificates(request, answer) : answer;
  }

  /** As the node API answers a configuration request that carries a CSR: a member's or learner's
   * configuration comes with the certificates issued for it, or with the issuance's failure. */
  private async withCertificates(request: ApiRequest, config: ApiAnswer): Promise<ApiAnswer> {
    const decision = /^ETCD_ASG_DECISION="(\w+)"$/m.exec(config.body ?? "")?.[1];
    if (config.status !== 200 || (decision !== "member" && decision !== "learner")) return config;
    this.certificateRequests.push(request);
    const issued = await this.certificateHandler(request, this.certificateRequests.length - 1);
    return issued.status === 200 ? { status: 200, body: `${config.body ?? ""}${issued.body ?? ""}` } : issued;
  }
}

/** A configuration request (`GET`, or `POST` with the node's CSR, `/v1/nodes/<id>/config?...`). */
export function isConfigRequest(request: ApiRequest): boolean {
  return /^\/v1\/nodes\/[^/]+\/config(\?|$)/.test(request.url);
}

export function runBash(
  args: readonly string[],
  env: Record<string, string>,
  cwd: string,
): Promise<RunResult> {
  return new Promise((done, fail) => {
    const child = spawn("bash", args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", fail);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** Runs `fn` with a fresh case and always cleans up, also when the test fails. */
export async function withBootCase(fn: (c: BootCase) => Promise<void>): Promise<void> {
  const c = await BootCase.create();
  try {
    await fn(c);
  } finally {
    await c.cleanup();
  }
}
