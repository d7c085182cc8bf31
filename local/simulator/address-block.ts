// Reserves a 127.0.X.0/24 block for one simulator so that simulators and test clusters running at
// the same time never share an address. The lock files are the ones the test beds use
// (test/helpers/etcd/loopback.ts), so both kinds of user coordinate: one file per block, holding
// the owner's PID; a block whose owner died is taken over.
import { randomInt } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const LOCK_DIR = join(tmpdir(), "etcd-asg-loopback-blocks");

export class NoFreeAddressBlockError extends Error {
  override readonly name = "NoFreeAddressBlockError";
}

export interface AddressBlock {
  /** e.g. `127.0.42` */
  readonly prefix: string;
  /** `127.0.X.host` */
  address(host: number): string;
  release(): void;
}

export function reserveAddressBlock(): AddressBlock {
  mkdirSync(LOCK_DIR, { recursive: true });
  for (let attempt = 0; attempt < 200; attempt++) {
    // 127.0.0.x and 127.0.1.x are left to whatever else runs on the machine.
    const prefix = `127.0.${randomInt(2, 255)}`;
    const lock = join(LOCK_DIR, prefix);
    if (!tryLock(lock)) continue;
    return {
      prefix,
      address: (host) => {
        if (!Number.isInteger(host) || host < 1 || host > 254) {
          throw new RangeError(`host number must be 1..254, got ${host}`);
        }
        return `${prefix}.${host}`;
      },
      release: () => rmSync(lock, { force: true }),
    };
  }
  throw new NoFreeAddressBlockError(
    `no free 127.0.X.0/24 block after 200 attempts; stale locks in ${LOCK_DIR}?`,
  );
}

function tryLock(path: string): boolean {
  if (writeLock(path)) return true;
  const holder = Number(readFileSync(path, "utf8"));
  if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) return false;
  rmSync(path, { force: true });
  return writeLock(path);
}

function writeLock(path: string): boolean {
  try {
    writeFileSync(path, String(process.pid), { flag: "wx" });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
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
