// Who a packet on loopback comes from and goes to. Every process on 127.0.0.0/8 connects from
// 127.0.0.1, so the sender cannot be told by its source address: each simulated node's etcd (and the
// Lambda workers as one group) runs under its own numeric UID, which the kernel knows for every packet
// a process sends. A UID needs no passwd entry and leaves nothing behind on the machine.
import { isIPv4 } from "node:net";

/** A group of processes whose packets are matched by their UID: one node's etcd, or the Lambda workers. */
export interface NetworkIdentity {
  /** For messages and rule comments: the instance ID, or "control-plane". */
  readonly name: string;
  /** The numeric UID (and GID) its processes run under; no other process may use it. */
  readonly uid: number;
}

/** A node's etcd: its identity and where it listens. Traffic to a node is matched on these ports only,
 * so a fault never touches anything else on its address (the simulator's IMDS server, for one). */
export interface NodeIdentity extends NetworkIdentity {
  /** The node's private IP, 127.0.X.Y. */
  readonly ip: string;
  readonly clientPort: number;
  readonly peerPort: number;
}

/** UIDs of identities are `IDENTITY_UID_BASE + X*256 + Y` for 127.0.X.Y: far above any real user and
 * unique per address, and addresses are unique per run (each run reserves its own 127.0.X.0/24), so two
 * runs at the same time never share a UID. */
export const IDENTITY_UID_BASE = 1_270_000_000;

const LOOPBACK_16 = /^127\.0\.(\d{1,3})\.(\d{1,3})$/;

export class InvalidIdentityError extends Error {
  override readonly name = "InvalidIdentityError";
}

/** The UID of the node at `ip` (127.0.X.Y with Y from 1 to 254). */
export function uidForAddress(ip: string): number {
  const match = LOOPBACK_16.exec(ip);
  const third = Number(match?.[1]);
  const fourth = Number(match?.[2]);
  if (match === null || !isIPv4(ip) || fourth < 1 || fourth > 254) {
    throw new InvalidIdentityError(`a node's address must be 127.0.X.Y with Y from 1 to 254; received ${ip}`);
  }
  return IDENTITY_UID_BASE + third * 256 + fourth;
}

/** The identity of the etcd at `ip`, listening on `clientPort` and `peerPort` (2379 and 2380 in the
 * simulator). */
export function nodeIdentity(name: string, ip: string, clientPort = 2379, peerPort = 2380): NodeIdentity {
  for (const [label, port] of [
    ["clientPort", clientPort],
    ["peerPort", peerPort],
  ] as const) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new InvalidIdentityError(`${label} of ${name} must be a TCP port; received ${port}`);
    }
  }
  return { name, uid: uidForAddress(ip), ip, clientPort, peerPort };
}

/** The identity of the Lambda workers of the run that reserved `prefix` (127.0.X): host number 0 of the
 * block, which no node uses. */
export function controlPlaneIdentity(prefix: string): NetworkIdentity {
  const match = /^127\.0\.(\d{1,3})$/.exec(prefix);
  const third = Number(match?.[1]);
  if (match === null || third > 255) {
    throw new InvalidIdentityError(`an address block prefix is 127.0.X; received ${prefix}`);
  }
  return { name: "control-plane", uid: IDENTITY_UID_BASE + third * 256 };
}

export function isNodeIdentity(identity: NetworkIdentity): identity is NodeIdentity {
  return "ip" in identity;
}

/** `spawn`/`fork` options that run a child under `identity` (Node drops supplementary groups too). */
export function runAs(identity: NetworkIdentity): { uid: number; gid: number } {
  return { uid: identity.uid, gid: identity.uid };
}
