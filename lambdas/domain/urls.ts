// Peer and client URLs: the only link between an etcd member and the instance it runs on.
import type { Instance, Member, Policy } from "./snapshot";

export function peerUrlOf(policy: Policy, privateIp: string): string {
  return `${policy.peerScheme}://${privateIp}:${policy.peerPort}`;
}

export function clientUrlOf(policy: Policy, privateIp: string): string {
  return `${policy.peerScheme}://${privateIp}:${policy.clientPort}`;
}

/** The host part of a URL such as `http://10.0.1.7:2380`, or undefined when it has none. */
export function hostOf(url: string): string | undefined {
  const match = /^[a-z]+:\/\/(\[[^\]]+\]|[^/:]+)/i.exec(url);
  return match?.[1];
}

export function memberHasIp(member: Member, privateIp: string): boolean {
  return member.peerUrls.some((url) => hostOf(url) === privateIp);
}

export function instanceOfMember(member: Member, instances: readonly Instance[]): Instance | undefined {
  return instances.find((i) => i.privateIp !== undefined && memberHasIp(member, i.privateIp));
}
