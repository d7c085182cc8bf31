// An IMDSv2 server for one simulated EC2 instance: the token handshake and the metadata paths the
// boot script and the AWS SDKs read, answered the way the real service answers them, so the real
// boot script and real clients run unchanged against a 127.0.x.y address.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface InstanceRoleCredentials {
  readonly AccessKeyId: string;
  readonly SecretAccessKey: string;
  readonly Token: string;
  /** ISO 8601, e.g. `2030-01-01T00:00:00Z`. */
  readonly Expiration: string;
}

export interface ImdsInstance {
  readonly instanceId: string;
  readonly privateIp: string;
  readonly region: string;
  readonly availabilityZone: string;
  /** The instance profile's role; `iam/security-credentials/` lists it. */
  readonly roleName: string;
  readonly credentials: InstanceRoleCredentials;
  /** @default "000000000000" */
  readonly accountId?: string;
}

export interface ImdsListenOptions {
  /** A loopback address, e.g. `127.0.3.7`. */
  readonly host: string;
  /** @default 0 (a free port chosen by the OS) */
  readonly port?: number;
}

/** IMDSv2 accepts token lifetimes from one second to six hours. */
const MAX_TOKEN_TTL_SECONDS = 21_600;
const TOKEN_TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds";
const TOKEN_HEADER = "x-aws-ec2-metadata-token";

export class ImdsServerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ImdsServerError";
  }
}

export class ImdsServer {
  private readonly instance: ImdsInstance;
  private readonly lastUpdated = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  /** Token → expiry in epoch milliseconds. */
  private readonly tokens = new Map<string, number>();
  private server: Server | undefined;
  private address: AddressInfo | undefined;

  constructor(instance: ImdsInstance) {
    if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(instance.privateIp)) {
      throw new ImdsServerError(
        `privateIp must be a 127.x.y.z address in the simulator, got "${instance.privateIp}"`,
      );
    }
    if (!instance.availabilityZone.startsWith(instance.region)) {
      throw new ImdsServerError(
        `availabilityZone "${instance.availabilityZone}" is not in region "${instance.region}"`,
      );
    }
    this.instance = instance;
  }

  /** Starts listening; resolves once the port is bound. */
  async start(options: ImdsListenOptions): Promise<void> {
    if (!options.host.startsWith("127.")) {
      throw new ImdsServerError(`host must be a loopback address (127.x.y.z), got "${options.host}"`);
    }
    if (this.server) throw new ImdsServerError("the IMDS server is already started");
    const server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", (cause) =>
        reject(new ImdsServerError(`cannot listen on ${options.host}:${options.port ?? 0}`, { cause })),
      );
      server.listen(options.port ?? 0, options.host, () => resolve());
    });
    this.server = server;
    this.address = server.address() as AddressInfo;
  }

  /** The endpoint to give clients, e.g. `http://127.0.3.7:41234` (ETCD_ASG_IMDS_ENDPOINT). */
  get endpoint(): string {
    if (!this.address) throw new ImdsServerError("the IMDS server is not started");
    return `http://${this.address.address}:${this.address.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.address = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (path === "/latest/api/token") {
      this.issueToken(req, res);
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, "");
      return;
    }
    if (!this.hasValidToken(req)) {
      // IMDSv2-only instances answer 401 to a GET without a valid token.
      send(res, 401, "");
      return;
    }
    const body = this.metadata(path);
    if (body === undefined) send(res, 404, notFoundPage());
    else send(res, 200, body);
  }

  private issueToken(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== "PUT") {
      send(res, 405, "");
      return;
    }
    const ttlHeader = req.headers[TOKEN_TTL_HEADER];
    const ttl = typeof ttlHeader === "string" && /^\d+$/.test(ttlHeader) ? Number(ttlHeader) : Number.NaN;
    if (!(ttl >= 1 && ttl <= MAX_TOKEN_TTL_SECONDS)) {
      send(res, 400, "");
      return;
    }
    const token = randomBytes(32).toString("base64url");
    this.tokens.set(token, Date.now() + ttl * 1000);
    res.setHeader(TOKEN_TTL_HEADER, String(ttl));
    send(res, 200, token);
  }

  private hasValidToken(req: IncomingMessage): boolean {
    const token = req.headers[TOKEN_HEADER];
    if (typeof token !== "string") return false;
    const expiresAt = this.tokens.get(token);
    if (expiresAt === undefined) return false;
    if (expiresAt <= Date.now()) {
      this.tokens.delete(token);
      return false;
    }
    return true;
  }

  /** The answer for a metadata path, or undefined for a path IMDS does not know (404). */
  private metadata(path: string): string | undefined {
    const i = this.instance;
    switch (path) {
      case "/latest/meta-data/instance-id":
        return i.instanceId;
      case "/latest/meta-data/local-ipv4":
        return i.privateIp;
      case "/latest/meta-data/placement/region":
        return i.region;
      case "/latest/meta-data/placement/availability-zone":
        return i.availabilityZone;
      case "/latest/meta-data/iam/security-credentials":
      case "/latest/meta-data/iam/security-credentials/":
        return i.roleName;
      case `/latest/meta-data/iam/security-credentials/${i.roleName}`:
        return this.credentialsDocument();
      case "/latest/dynamic/instance-identity/document":
        return this.identityDocument();
      default:
        return undefined;
    }
  }

  private credentialsDocument(): string {
    const c = this.instance.credentials;
    return JSON.stringify(
      {
        Code: "Success",
        LastUpdated: this.lastUpdated,
        Type: "AWS-HMAC",
        AccessKeyId: c.AccessKeyId,
        SecretAccessKey: c.SecretAccessKey,
        Token: c.Token,
        Expiration: c.Expiration,
      },
      null,
      2,
    );
  }

  private identityDocument(): string {
    const i = this.instance;
    return JSON.stringify(
      {
        accountId: i.accountId ?? "000000000000",
        architecture: "x86_64",
        availabilityZone: i.availabilityZone,
        billingProducts: null,
        devpayProductCodes: null,
        marketplaceProductCodes: null,
        imageId: "ami-00000000000000000",
        instanceId: i.instanceId,
        instanceType: "t3.small",
        kernelId: null,
        pendingTime: this.lastUpdated,
        privateIp: i.privateIp,
        ramdiskId: null,
        region: i.region,
        version: "2017-09-30",
      },
      null,
      2,
    );
  }
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function notFoundPage(): string {
  return '<?xml version="1.0" encoding="iso-8859-1"?>\n<html><head><title>404 - Not Found</title></head><body><h1>404 - Not Found</h1></body></html>\n';
}
