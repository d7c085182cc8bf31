// Hands out loopback addresses and ports for test etcd clusters so that clusters started at the same
// time (by this process, other test files or other people's tests) never share an address block or a
// port. A block is 127.0.X.0/24, reserved across processes with an exclusive lock file.
import { randomInt } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const LOCK_DIR = join(tmpdir(), "etcd-asg-loopback-blocks");
const FIRST_PORT = 20000;
const LAST_PORT = 59999;

/** A reserved 127.0.X.0/24 block; `address(n)` is 127.0.X.n. */
export interface LoopbackBlock {
  readonly prefix: string;
  address(host: number): string;
  release(): void;
}

export function reserveLoopbackBlock(): LoopbackBlock {
  mkdirSync(LOCK_DIR, { recursive: true });
  for (let attempt = 0; attempt < 200; attempt++) {
    // 127.0.0.x and 127.0.1.x are left to whatever else runs on the machine.
    const third = randomInt(2, 255);
    const lock = join(LOCK_DIR, `127.0.${third}`);
    if (!tryLock(lock)) continue;
    const prefix = `127.0.${third}`;
    return {
      prefix,
      address: (host) => {
        if (!Number.isInteger(host) || host < 1 || host > 254) {
          throw new Error(`loopback host number must be 1..254, got ${host}`);
        }
        return `${prefix}.${host}`;
      },
      release: () => rmSync(lock, { force: true }),
    };
  }
  throw new Error(`no free 127.0.X.0/24 block after 200 attempts; stale locks in ${LOCK_DIR}?`);
}

function tryLock(path: string): boolean {
  try {
    writeFileSync(path, String(process.pid), { flag: "wx" });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  // A lock left by a process that died is taken over.
  const holder = Number(readFileSync(path, "utf8"));
  if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) return false;
  rmSync(path, { force: true });
  try {
    writeFileSync(path, String(process.pid), { flag: "wx" });
    return true;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

const handedOut = new Set<string>();

/** A random port that nothing listens on at `address` right now and that this process has not handed out. */
export async function freePort(address: string): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = randomInt(FIRST_PORT, LAST_PORT + 1);
    const key = `${address}:${port}`;
    if (handedOut.has(key)) continue;
    if (await canListen(address, port)) {
      handedOut.add(key);
      return port;
    }
  }
  throw new Error(`no free port on ${address} after 100 attempts`);
}

function canListen(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
