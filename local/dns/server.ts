// The simulator's DNS: an authoritative server (dns2, UDP and TCP on the same port) on a 127.0.X.Y
// address, answering for the zones of the local Route 53 as its name servers would — from each
// zone's last INSYNC change, so an answer changes as soon as Route 53 says the change is INSYNC.
// Record TTLs are the record sets'; a name the zone does not have is NXDOMAIN and a type a name
// does not have is NODATA, both with the zone's SOA (TTL capped by its minimum, RFC 2308) so
// resolvers cache the negative answer as they would in a VPC. A CNAME answers for every type and is
// followed within the zone. Names outside every zone are REFUSED: this server does not recurse.
// Served types: A, AAAA, CNAME, MX, NS, PTR, SOA, SRV, TXT (others are treated as absent);
// wildcard records are not expanded.
import type { AddressInfo } from "node:net";
import dns2 from "dns2";
import type { RecordSet } from "../route53/records";
import { isWithin, normalizeName } from "../route53/records";
import type { ServedZone } from "../route53/zones";

const { Packet } = dns2;
type Packet = InstanceType<typeof dns2.Packet>;
type Resource = dns2.Packet.Resource;

/** Where the zones come from: a Route53Store, or any source of served zones. */
export interface ZoneSource {
  servedZones(): readonly ServedZone[];
}

export interface LocalDnsServerOptions {
  readonly zones: ZoneSource;
  /** A 127.0.0.0/8 address, e.g. from the simulator's reserved block. */
  readonly host: string;
  /** UDP and TCP both. @default a free port */
  readonly port?: number;
}

/** The host is not a loopback address: the simulator never listens anywhere else. */
export class NonLoopbackDnsHostError extends Error {
  override readonly name = "NonLoopbackDnsHostError";
}

const SERVED_TYPES: ReadonlySet<string> = new Set([
  "A",
  "AAAA",
  "CNAME",
  "MX",
  "NS",
  "PTR",
  "SOA",
  "SRV",
  "TXT",
]);

/** How many CNAMEs an answer follows within the zone before it stops. */
const MAX_CNAME_CHAIN = 8;

export class LocalDnsServer {
  private udp: InstanceType<typeof dns2.UDPServer> | undefined;
  private tcp: InstanceType<typeof dns2.TCPServer> | undefined;
  private boundPort: number | undefined;

  constructor(private readonly options: LocalDnsServerOptions) {
    if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(options.host)) {
      throw new NonLoopbackDnsHostError(`the DNS server listens on 127.0.0.0/8 only, not ${options.host}`);
    }
  }

  /** Starts UDP and TCP on the same port; resolves to `host:port`, ready for `Resolver.setServers`. */
  async start(): Promise<string> {
    if (this.udp) throw new Error("LocalDnsServer already started");
    const handle = (request: Packet, send: (response: Packet) => Promise<Buffer>) => {
      send(this.answer(request)).catch(() => undefined);
    };
    // With no port given, the OS picks a free UDP port and TCP takes the same one; another process
    // may hold that TCP port, so try a few.
    for (let attempt = 0; ; attempt++) {
      const udp = dns2.createUDPServer({ type: "udp4" });
      udp.on("request", handle as dns2.DnsHandler);
      const port = await bind(udp, (done) => udp.bind(this.options.port ?? 0, this.options.host, done));
      const tcp = dns2.createTCPServer();
      tcp.on("request", handle as dns2.DnsHandler);
      try {
        await bind(tcp, (done) => tcp.listen(port, this.options.host, done));
      } catch (error) {
        udp.close();
        if (this.options.port !== undefined || attempt >= 10) throw error;
        continue;
      }
      this.udp = udp;
      this.tcp = tcp;
      this.boundPort = port;
      return this.address;
    }
  }

  /** `host:port`. */
  get address(): string {
    if (this.boundPort === undefined) throw new Error("LocalDnsServer is not started");
    return `${this.options.host}:${this.boundPort}`;
  }

  get port(): number {
    if (this.boundPort === undefined) throw new Error("LocalDnsServer is not started");
    return this.boundPort;
  }

  async stop(): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    this.boundPort = undefined;
    await Promise.all([
      udp && new Promise<void>((resolve) => udp.close(() => resolve())),
      tcp && new Promise<void>((resolve) => tcp.close(() => resolve())),
    ]);
  }

  /** The response to one query. */
  answer(request: Packet): Packet {
    const response = Packet.createResponseFromRequest(request);
    const [question] = request.questions;
    if (request.errors.length > 0 || question === undefined || request.questions.length > 1) {
      response.header.rcode = Packet.RCODE.FORMERR;
      return response;
    }
    if (request.header.opcode !== 0) {
      response.header.rcode = Packet.RCODE.NOTIMP;
      return response;
    }
    const name = normalizeName(question.name);
    const zone = this.options.zones
      .servedZones()
      .filter((z) => isWithin(name, z.name))
      .sort((a, b) => b.name.length - a.name.length)[0];
    if (zone === undefined) {
      response.header.rcode = Packet.RCODE.REFUSED;
      return response;
    }
    response.header.aa = 1;
    const type = Packet.TYPE_NAME[question.type] ?? "";
    const sets = zone.recordSets.filter((set) => SERVED_TYPES.has(set.type));
    let owner = name;
    for (let hops = 0; hops <= MAX_CNAME_CHAIN; hops++) {
      const atName = sets.filter((set) => set.name === owner);
      const cname = atName.find((set) => set.type === "CNAME");
      const wanted = type === "ANY" ? atName : atName.filter((set) => set.type === type);
      if (wanted.length > 0 || (cname === undefined && atName.length > 0)) {
        response.answers.push(...wanted.flatMap((set) => resources(question.name, owner, name, set)));
        if (wanted.length === 0) response.authorities.push(...negative(zone));
        response.additionals.push(...additionals(wanted, sets));
        return response;
      }
      if (cname !== undefined) {
        response.answers.push(...resources(question.name, owner, name, cname));
        owner = normalizeName(cname.values[0] as string);
        if (!isWithin(owner, zone.name)) return response;
        continue;
      }
      // Nothing at this name: NODATA when something lives below it (an empty non-terminal).
      const below = sets.some((set) => set.name.endsWith(`.${owner}`));
      if (!below && owner === name) response.header.rcode = Packet.RCODE.NXDOMAIN;
      response.authorities.push(...negative(zone));
      return response;
    }
    return response;
  }
}

/** Resolves once the server listens, with its port; rejects on a bind error. */
function bind(
  server: NodeJS.EventEmitter & { address(): AddressInfo | string | null },
  listen: (done: () => void) => void,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once("error", onError);
    listen(() => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * The wire records of one record set. Names go out as the question spelled them when the set is the
 * question's own (resolvers match the question's case), as stored otherwise.
 */
function resources(questionName: string, owner: string, name: string, set: RecordSet): Resource[] {
  const wireName = owner === name ? questionName : stripDot(set.name);
  return set.values.map((value) => {
    const base = {
      name: wireName,
      type: Packet.TYPE[set.type as keyof typeof Packet.TYPE],
      class: Packet.CLASS.IN,
      ttl: set.ttl,
    };
    return Object.assign(new Packet.Resource(base), rdata(set.type, value));
  });
}

function rdata(type: string, value: string): Partial<Resource> {
  const fields = value.trim().split(/\s+/);
  switch (type) {
    case "A":
    case "AAAA":
      return { address: value };
    case "CNAME":
    case "PTR":
      return { domain: stripDot(value) };
    case "NS":
      return { ns: stripDot(value) };
    case "MX":
      return { priority: Number(fields[0]), exchange: stripDot(fields[1] ?? "") };
    case "SRV":
      return {
        priority: Number(fields[0]),
        weight: Number(fields[1]),
        port: Number(fields[2]),
        target: stripDot(fields[3] ?? ""),
      };
    case "SOA": {
      const [primary = "", admin = "", serial, refresh, retry, expiration, minimum] = fields;
      return {
        primary: stripDot(primary),
        admin: stripDot(admin),
        serial: Number(serial),
        refresh: Number(refresh),
        retry: Number(retry),
        expiration: Number(expiration),
        minimum: Number(minimum),
      };
    }
    default:
      // TXT: one or more quoted character-strings, or one bare string.
      return {
        data: value.includes('"')
          ? [...value.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? "").replace(/\\(.)/g, "$1"))
          : [value],
      };
  }
}

/** The zone's SOA for a negative answer, its TTL capped by the SOA's minimum (RFC 2308 §5). */
function negative(zone: ServedZone): Resource[] {
  const soa = zone.recordSets.find((set) => set.name === zone.name && set.type === "SOA");
  if (soa === undefined) return [];
  const minimum = Number(soa.values[0]?.trim().split(/\s+/)[6] ?? soa.ttl);
  return resources("", zone.name, "", { ...soa, ttl: Math.min(soa.ttl, minimum) });
}

/** The A and AAAA records of SRV and MX targets inside the zone, so a client needs no second query. */
function additionals(answered: readonly RecordSet[], sets: readonly RecordSet[]): Resource[] {
  const targets = answered.flatMap((set) =>
    set.type === "SRV"
      ? set.values.map((v) => normalizeName(v.trim().split(/\s+/)[3] ?? ""))
      : set.type === "MX"
        ? set.values.map((v) => normalizeName(v.trim().split(/\s+/)[1] ?? ""))
        : [],
  );
  return sets
    .filter((set) => (set.type === "A" || set.type === "AAAA") && targets.includes(set.name))
    .flatMap((set) => resources("", set.name, "", set));
}

function stripDot(name: string): string {
  return name.endsWith(".") ? name.slice(0, -1) : name;
}
