// A simulated EC2 instance: its IMDSv2 server on the instance's own 127.0.x.y address serving the
// credentials of the instance role's session the simulator issued, the template's user data (which
// fetches the REAL boot script from the asset bucket and runs it with `-o start`) with a systemctl
// stand-in that starts the real etcd, and that etcd's PID. It can be terminated (etcd gets SIGTERM,
// then SIGKILL), killed as a whole with -9 (the machine is gone), or its etcd alone killed with -9
// (the systemctl stand-in restarts it as systemd's Restart=on-failure does), killed for good (no
// restart: the unit failed), or frozen and continued.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statfsSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ImdsServer } from "../imds/imds-server";
import { countProcesses, type ProcessCount } from "./process-trace";
import { isRunning, signal, stopProcess, trackProcess, untrackProcess } from "./processes";

const BIN_DIR = resolve(__dirname, "bin");
/** strace following every child, stopping only at the syscalls that make a process or run a program
 * (seccomp-bpf), so etcd's threads run as usual; the file name follows. */
const STRACE = [
  "strace",
  "-f",
  "-qq",
  "--seccomp-bpf",
  "-e",
  "trace=execve,clone,clone3,fork,vfork",
  "-e",
  "signal=none",
  "-o",
];

/** Temporary credentials of the instance role's session (its name is the instance ID). */
export interface InstanceCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
}

export interface NodeOptions {
  readonly instanceId: string;
  readonly privateIp: string;
  readonly availabilityZone: string;
  readonly region: string;
  readonly account: string;
  readonly roleName: string;
  readonly credentials: InstanceCredentials;
  /** The launch template's user data, as the instance receives it. */
  readonly userData: string;
  /** Where the user data fetches the boot script from (AWS_ENDPOINT_URL_S3). */
  readonly s3Endpoint: string;
  /** This instance's disk: data dir, drop-in dir and logs live under it. */
  readonly root: string;
  /** Extra etcd settings as KEY=value (e.g. faster raft timers). */
  readonly etcdEnv: readonly string[];
  /** The UID etcd runs under: the boot script's etcd user, as a number. */
  readonly etcdUid: number;
  /** The boot script's overall deadline. */
  readonly bootDeadlineSeconds: number;
  /** False: the instance starts but its user-data never runs (a node that never boots). */
  readonly boot: boolean;
  /** How long the instance boots before its user data starts (AWS sends the launch event at
   * Pending:Wait, so the launch hook runs during this time). */
  readonly bootDelayMs: number;
  /** Told when the user data starts (as cloud-init would log it). */
  readonly onUserDataStart: () => void;
  /** Runs the user data under strace to count the processes it spawns (see processesSpawned()). */
  readonly traceProcesses: boolean;
  /** The data dir on a volume of its own, a tmpfs of this many bytes (what fillDisk() fills), as
   * the stack mounts a data volume at /var/lib/etcd. @default none: on the simulator's disk */
  readonly dataVolumeBytes?: number;
}

export type BootState = "booting" | "ready" | "failed" | "skipped" | "stopped";

export class SimulatedNode {
  readonly imds: ImdsServer;
  private bootProcess: ChildProcess | undefined;
  private stopped: Promise<void> | undefined;
  bootState: BootState = "booting";
  bootExitCode: number | null = null;

  constructor(readonly options: NodeOptions) {
    this.imds = new ImdsServer({
      instanceId: options.instanceId,
      privateIp: options.privateIp,
      region: options.region,
      availabilityZone: options.availabilityZone,
      roleName: options.roleName,
      accountId: options.account,
      credentials: {
        AccessKeyId: options.credentials.accessKeyId,
        SecretAccessKey: options.credentials.secretAccessKey,
        Token: options.credentials.sessionToken,
        Expiration: new Date(Date.now() + 6 * 3600_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
      },
    });
  }

  get id(): string {
    return this.options.instanceId;
  }

  get clientUrl(): string {
    return `https://${this.options.privateIp}:2379`;
  }

  get etcdLog(): string {
    return join(this.options.root, "etcd.log");
  }

  get bootLog(): string {
    return join(this.options.root, "boot.log");
  }

  private get traceFile(): string {
    return join(this.options.root, "processes.trace");
  }

  /** The processes the user data spawned so far (etcd and the boot script's children included), by
   * program, when it runs under strace (traceProcesses); undefined otherwise. */
  processesSpawned(): ProcessCount | undefined {
    if (!this.options.traceProcesses || !existsSync(this.traceFile)) return undefined;
    return countProcesses(readFileSync(this.traceFile, "utf8"));
  }

  private get dataDir(): string {
    return join(this.options.root, "data");
  }

  private get ballast(): string {
    return join(this.dataDir, "chaos-ballast");
  }

  /**
   * Fills the data volume to the last byte with a file beside etcd's, as anything else written to the
   * volume would (a copy, a dump, data moved aside). etcd's next write that needs a new block fails
   * with ENOSPC. Returns the bytes written; 0 when the node has no data volume of its own.
   */
  fillDisk(): number {
    if (this.options.dataVolumeBytes === undefined || this.stopped !== undefined) return 0;
    return fillFile(this.ballast);
  }

  /** Frees what fillDisk() took. */
  freeDisk(): void {
    rmSync(this.ballast, { force: true });
  }

  /** Free bytes on the data dir's volume. */
  diskFree(): number {
    const stats = statfsSync(this.dataDir);
    return stats.bavail * stats.bsize;
  }

  private get pidFile(): string {
    return join(this.options.root, "etcd.pid");
  }

  /** The systemctl stand-in's supervisor, which restarts etcd as systemd would. */
  private unitPid(): number | undefined {
    return readPid(`${this.pidFile}.unit`);
  }

  /** The running etcd's PID, if the boot script has started one (never once the instance is
   * terminated: the PID may belong to another process by then). */
  etcdPid(): number | undefined {
    return this.stopped === undefined ? readPid(this.pidFile) : undefined;
  }

  etcdRunning(): boolean {
    const pid = this.etcdPid();
    return pid !== undefined && isRunning(pid);
  }

  /** Starts IMDS, then, after the boot delay, runs the boot script (unless this instance never boots). */
  async start(): Promise<void> {
    mkdirSync(this.options.root, { recursive: true, mode: 0o711 });
    mkdirSync(this.tmpDir, { recursive: true });
    if (this.options.dataVolumeBytes !== undefined)
      mountDataVolume(this.dataDir, this.options.dataVolumeBytes);
    await this.imds.start({ host: this.options.privateIp });
    if (!this.options.boot) {
      this.bootState = "skipped";
      return;
    }
    if (this.options.bootDelayMs > 0) await sleep(this.options.bootDelayMs);
    if (this.stopped !== undefined) return;
    this.options.onUserDataStart();
    const userData = join(this.options.root, "user-data");
    writeFileSync(userData, this.options.userData, { mode: 0o600 });
    const log = openSync(this.bootLog, "a");
    const command = [
      "bash",
      join(BIN_DIR, "run-user-data"),
      userData,
      join(this.options.root, "etcd-asg-boot"),
    ];
    const [program = "bash", ...args] = this.options.traceProcesses
      ? [...STRACE, this.traceFile, ...command]
      : command;
    const child = spawn(
      program,
      args,
      // Its own process group, so Ctrl-C in the terminal reaches the simulator, not the instances.
      { detached: true, stdio: ["ignore", log, log], env: this.machineEnv() },
    );
    closeSync(log);
    const pid = child.pid;
    if (pid !== undefined) trackProcess(pid);
    this.bootProcess = child;
    child.once("exit", (code) => {
      if (pid !== undefined) untrackProcess(pid);
      this.bootExitCode = code;
      if (this.bootState === "booting") this.bootState = code === 0 ? "ready" : "failed";
    });
    // Track etcd and its supervisor as soon as the stand-in starts them, and each etcd it restarts,
    // so an early exit of the simulator ends them too.
    let tracked: number[] = [];
    const watch = setInterval(() => {
      if (this.stopped !== undefined) return clearInterval(watch);
      const current = [this.unitPid(), this.etcdPid()].filter((pid): pid is number => pid !== undefined);
      for (const pid of tracked) if (!current.includes(pid)) untrackProcess(pid);
      for (const pid of current) trackProcess(pid);
      tracked = current;
    }, 100);
    watch.unref();
  }

  /** The machine's /tmp, removed with it: a boot script killed with its instance leaves its work dir here. */
  private get tmpDir(): string {
    return join(this.options.root, "tmp");
  }

  /** What processes of this machine see: its folders in place of /tmp, /var/lib/etcd, /etc/etcd/pki and
   * /etc/systemd, its IMDS, the systemctl stand-in on the PATH, and the simulator's S3 endpoint. */
  private machineEnv(): NodeJS.ProcessEnv {
    return {
      PATH: `${BIN_DIR}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      HOME: this.options.root,
      TMPDIR: this.tmpDir,
      ETCD_ASG_IMDS_ENDPOINT: this.imds.endpoint,
      AWS_ENDPOINT_URL_S3: this.options.s3Endpoint,
      ETCD_ASG_DATA_DIR: this.dataDir,
      ETCD_ASG_PKI_DIR: join(this.options.root, "pki"),
      ETCD_ASG_ETCD_USER: String(this.options.etcdUid),
      ETCD_ASG_DROPIN_DIR: join(this.options.root, "systemd/etcd.service.d"),
      ETCD_ASG_ETCD_BIN: "/usr/bin/etcd",
      ETCD_ASG_DEADLINE_SECONDS: String(this.options.bootDeadlineSeconds),
      ETCD_ASG_BACKOFF_MAX_MS: "2000",
      SIM_ETCD_PIDFILE: this.pidFile,
      SIM_ETCD_LOG: this.etcdLog,
      SIM_ETCD_EXTRA_ENV: this.options.etcdEnv.join(" "),
    };
  }

  /**
   * Fires the certificate renewal timer now, with the renewal due: removes the stored renew-at and
   * runs the renewal service the boot script installed (`systemctl start etcd-asg-renew.service`).
   * Resolves to the service's exit code; its output goes to the boot log.
   */
  async renewCertificates(): Promise<number | null> {
    rmSync(join(this.options.root, "pki", "renew-at"), { force: true });
    const log = openSync(this.bootLog, "a");
    const child = spawn(join(BIN_DIR, "systemctl"), ["start", "etcd-asg-renew.service"], {
      stdio: ["ignore", log, log],
      env: this.machineEnv(),
    });
    closeSync(log);
    const [code] = (await once(child, "exit")) as [number | null];
    return code;
  }

  /** kill -9 of the whole instance: etcd, the boot script and IMDS are gone at once, with no
   * graceful step (a machine failure). */
  kill(): Promise<void> {
    this.killEtcd();
    return this.stop(false);
  }

  /** kill -9 of the node's etcd: a crash, which the unit's Restart=on-failure restarts. */
  killEtcd(): boolean {
    const pid = this.etcdPid();
    return pid !== undefined && signal(pid, "SIGKILL");
  }

  /** kill -9 of the node's etcd with no restart, as when its unit hit the start limit: the machine
   * and its EC2 status checks stay fine. */
  killEtcdForGood(): boolean {
    const unit = this.unitPid();
    if (unit !== undefined) signal(unit, "SIGKILL");
    return this.killEtcd();
  }

  /** SIGSTOP: etcd stops answering but keeps its sockets (a hung process or a frozen VM). */
  freezeEtcd(): boolean {
    const pid = this.etcdPid();
    return pid !== undefined && signal(pid, "SIGSTOP");
  }

  thawEtcd(): boolean {
    const pid = this.etcdPid();
    return pid !== undefined && signal(pid, "SIGCONT");
  }

  /** The instance terminates: its boot script, etcd (SIGTERM, then -9; at once when not
   * `graceful`, as when the whole simulator goes down) and IMDS stop. */
  stop(graceful = true): Promise<void> {
    if (this.stopped !== undefined) return this.stopped;
    const unit = this.unitPid();
    if (unit !== undefined) {
      signal(unit, "SIGKILL");
      untrackProcess(unit);
    }
    const etcd = this.etcdPid();
    this.stopped = (async () => {
      this.bootState = this.bootState === "booting" ? "stopped" : this.bootState;
      const boot = this.bootProcess;
      if (boot?.pid !== undefined && boot.exitCode === null) {
        signal(-boot.pid, "SIGKILL");
        await stopProcess(boot.pid, 0);
      }
      if (etcd !== undefined) await stopProcess(etcd, graceful ? 5000 : 0);
      if (this.options.dataVolumeBytes !== undefined) unmountDataVolume(this.dataDir);
      await this.imds.stop();
    })();
    return this.stopped;
  }
}

/** Data volumes mounted and not yet unmounted; a process exit for any reason unmounts them. */
const mountedVolumes = new Set<string>();
let unmountOnExit = false;

/** The data dir as a volume of its own: a tmpfs of `bytes`, named so a leftover is recognisable. */
function mountDataVolume(dir: string, bytes: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${bytes},mode=0700`, DATA_VOLUME_SOURCE, dir]);
  if (!unmountOnExit) {
    unmountOnExit = true;
    process.on("exit", () => mountedVolumes.forEach(unmountDataVolume));
  }
  mountedVolumes.add(dir);
}

function unmountDataVolume(dir: string): void {
  if (!mountedVolumes.delete(dir)) return; // never mounted: the instance was stopped before it started
  // Lazily: a process of the instance that still has a file open there must not keep it mounted.
  execFileSync("umount", ["--lazy", dir], { stdio: "ignore" });
}

/** The source name of the simulator's data volumes in the mount table. */
export const DATA_VOLUME_SOURCE = "etcd-asg-data-volume";

/** Writes zeros to `file` until its volume has no byte left (ENOSPC); returns how many it wrote. */
function fillFile(file: string): number {
  const fd = openSync(file, "a");
  let written = 0;
  try {
    for (const size of [1 << 20, 4096, 1]) {
      const chunk = Buffer.alloc(size);
      for (;;) {
        try {
          written += writeSync(fd, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "ENOSPC") break;
          throw error;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

/** The PID a pid file holds; undefined when there is none. The systemctl stand-in rewrites and
 * removes its files while the simulator reads them, so a file gone between a look and a read is
 * absence, not an error. */
function readPid(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}
