// Where the members of a test cluster live: one loopback address each from the cluster's block, a
// free peer and client port on it, and a directory under the cluster's root named after the member.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { freePort, type LoopbackBlock } from "./loopback";

export interface PlacedMember {
  /** An instance ID, as the stack names members. */
  readonly name: string;
  readonly ip: string;
  readonly peerUrl: string;
  readonly clientUrl: string;
  readonly dir: string;
}

/** `size` members on the block's hosts from `firstHost` on, with HTTPS URLs. */
export async function placeMembers(
  block: LoopbackBlock,
  root: string,
  size: number,
  firstHost: number,
): Promise<PlacedMember[]> {
  const members: PlacedMember[] = [];
  for (let i = 0; i < size; i++) {
    const ip = block.address(firstHost + i);
    const name = `i-0${randomBytes(8).toString("hex")}`;
    members.push({
      name,
      ip,
      peerUrl: `https://${ip}:${await freePort(ip)}`,
      clientUrl: `https://${ip}:${await freePort(ip)}`,
      dir: join(root, name),
    });
  }
  return members;
}
