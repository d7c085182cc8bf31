// The nftables rules of network faults, as text for `nft -f`. Pure: no I/O, so what a fault does to
// which packets can be read (and tested) here.
//
// Every packet on loopback passes the output hook of its sender, where the kernel knows the sending
// socket's UID (`meta skuid`), so the sender is matched there. The receiver is the destination
// address and port when the sender opened the connection; when the sender is answering a connection
// the receiver opened, the destination is 127.0.0.1 and says nothing, so each new connection of a
// known identity is tagged with its initiator's UID in the conntrack mark, and the receiver of a reply
// is read from that tag. (etcd's peer messages to B travel as responses on streams B opened, so without
// the tag half of every one-way fault would miss.)
//
// The output chain only classifies: it sets bits in the packet mark, which loopback carries to the
// receiving side. A marked drop is done in prerouting, so the sender's stack believes the packet left
// (as on a real network; a drop in output would fail the sender's send with EPERM). A marked delay is
// handed to an NFQUEUE (this kernel has no netem) whose reader holds it for the time in the mark.
import { isNodeIdentity, type NetworkIdentity, type NodeIdentity } from "./identity";

/** Packet mark layout: the controller's tag, a drop bit, jitter ms, delay ms. The tag keeps the marks of
 * controllers running at the same time apart; the delay and jitter travel in the mark so the queue
 * reader needs no state of its own. */
export const MARK = {
  tagShift: 24,
  tagMask: 0xff000000,
  drop: 0x00800000,
  jitterShift: 16,
  maxJitterMs: 0x7f,
  maxDelayMs: 0xffff,
} as const;

/** Who a rule's packets come from or go to: an identity, or any process but the other end itself. */
export type Endpoint = NetworkIdentity | "any";

/** Packets from `from` to `to`; at most one end is "any". */
export interface Edge {
  readonly from: Endpoint;
  readonly to: Endpoint;
}

export type FaultAction =
  | { readonly kind: "drop"; readonly probability: number }
  | { readonly kind: "delay"; readonly ms: number; readonly jitterMs: number };

export interface FaultRules {
  /** Names the fault's chain: `f<id>`. */
  readonly id: number;
  readonly description: string;
  readonly edges: readonly Edge[];
  readonly action: FaultAction;
}

export class InvalidFaultError extends Error {
  override readonly name = "InvalidFaultError";
}

const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, "0")}`;

/** The mark bits that say "drop" for the controller with `tag`. */
export function dropMark(tag: number): number {
  return ((tag << MARK.tagShift) | MARK.drop) >>> 0;
}

/** The mark bits that say "hold `ms` ± `jitterMs`" for the controller with `tag`. */
export function delayMark(tag: number, ms: number, jitterMs: number): number {
  return ((tag << MARK.tagShift) | (jitterMs << MARK.jitterShift) | ms) >>> 0;
}

export function validateAction(action: FaultAction): void {
  if (action.kind === "drop") {
    const p = action.probability;
    if (!(p > 0 && p <= 1)) {
      throw new InvalidFaultError(`a drop probability must be in (0, 1]; received ${p}`);
    }
    return;
  }
  const { ms, jitterMs } = action;
  if (!Number.isInteger(ms) || ms < 1 || ms > MARK.maxDelayMs) {
    throw new InvalidFaultError(
      `a delay must be whole milliseconds from 1 to ${MARK.maxDelayMs}; received ${ms}`,
    );
  }
  if (!Number.isInteger(jitterMs) || jitterMs < 0 || jitterMs > Math.min(MARK.maxJitterMs, ms)) {
    throw new InvalidFaultError(
      `jitter must be whole milliseconds from 0 to min(${MARK.maxJitterMs}, delay ${ms}); received ${jitterMs}`,
    );
  }
}

/** The match parts of the rules that select the packets of `edge` (one rule per part). */
export function edgeMatches(edge: Edge): string[] {
  const { from, to } = edge;
  if (from === "any" && to === "any") throw new InvalidFaultError("an edge needs an identity at one end");
  if (from !== "any" && to !== "any") {
    if (from.uid === to.uid) throw new InvalidFaultError(`an edge from ${from.name} to itself`);
    const sender = `meta skuid ${from.uid}`;
    const parts = [`${sender} ct direction reply ct mark ${to.uid}`];
    if (isNodeIdentity(to)) parts.unshift(`${sender} ct direction original ${listening(to)}`);
    return parts;
  }
  if (from !== "any") {
    // Everything it sends except to itself (etcd's gateway dials its own client port).
    const sender = `meta skuid ${from.uid}`;
    const self = isNodeIdentity(from) ? ` ip daddr != ${from.ip}` : "";
    return [`${sender} ct direction original${self}`, `${sender} ct direction reply ct mark != ${from.uid}`];
  }
  if (to === "any") throw new InvalidFaultError("an edge needs an identity at one end");
  const notSelf = `meta skuid != ${to.uid}`;
  const parts = [`${notSelf} ct direction reply ct mark ${to.uid}`];
  if (isNodeIdentity(to)) parts.unshift(`${notSelf} ct direction original ${listening(to)}`);
  return parts;
}

function listening(node: NodeIdentity): string {
  return `ip daddr ${node.ip} th dport { ${node.clientPort}, ${node.peerPort} }`;
}

/** The statement that marks a matched packet for `action`, counted. */
export function actionStatement(action: FaultAction, tag: number): string {
  if (action.kind === "drop") {
    const sample =
      action.probability < 1 ? `numgen random mod 1000 < ${Math.round(action.probability * 1000)} ` : "";
    return `${sample}counter meta mark set meta mark or ${hex(dropMark(tag))}`;
  }
  // A later delay replaces an earlier one (the controller orders them so the longest wins); a drop
  // decided before is kept.
  return `counter meta mark set meta mark and ${hex(MARK.drop)} or ${hex(delayMark(tag, action.ms, action.jitterMs))}`;
}

/** `nft -f` text that creates `table` with its classifier chain, its drop chain and the initiator map. */
export function tableScript(table: string, tag: number): string {
  return [
    `table inet ${table} {`,
    "  map initiators { type uid : mark; }",
    // After conntrack (-200) so ct direction and ct mark are known, before iptables' mangle (-150)
    // where delayed packets are queued.
    "  chain out { type filter hook output priority mangle - 10; policy accept; }",
    "  chain in {",
    "    type filter hook prerouting priority raw; policy accept;",
    `    meta mark and ${hex(MARK.tagMask | MARK.drop)} == ${hex(dropMark(tag))} counter drop`,
    "  }",
    "}",
  ].join("\n");
}

/** Adds `identities` to the initiator map, so their new connections are tagged. */
export function registerScript(table: string, identities: readonly NetworkIdentity[]): string {
  if (identities.length === 0) return "";
  const elements = identities.map((identity) => `${identity.uid} : ${identity.uid}`).join(", ");
  return `add element inet ${table} initiators { ${elements} }`;
}

/** The longest comment nft accepts on a rule. */
export const NFT_COMMENT_MAX = 128;

/** Adds the chain `f<id>` holding `fault`'s rules. */
export function faultChainScript(table: string, fault: FaultRules, tag: number): string {
  validateAction(fault.action);
  if (fault.edges.length === 0) throw new InvalidFaultError(`fault ${fault.description} selects no packets`);
  const chain = `f${fault.id}`;
  const text = `fault ${fault.id}: ${fault.description}`.replace(/["\\]/g, "'");
  // nft refuses a comment over 128 characters (a split of 7 instances names all 7).
  const comment = JSON.stringify(
    text.length > NFT_COMMENT_MAX ? `${text.slice(0, NFT_COMMENT_MAX - 3)}...` : text,
  );
  const statement = actionStatement(fault.action, tag);
  const lines = [`add chain inet ${table} ${chain}`];
  for (const edge of fault.edges) {
    for (const match of edgeMatches(edge)) {
      lines.push(`add rule inet ${table} ${chain} ${match} ${statement} comment ${comment}`);
    }
  }
  return lines.join("\n");
}

/** Rewrites the classifier chain: the initiator tagging, then a jump to each fault's chain, delays
 * shortest first so that where two delays overlap the longest is the one applied. */
export function outChainScript(table: string, faults: readonly FaultRules[]): string {
  const delayOf = (fault: FaultRules) => (fault.action.kind === "delay" ? fault.action.ms : 0);
  const ordered = [...faults].sort((a, b) => delayOf(a) - delayOf(b) || a.id - b.id);
  return [
    `flush chain inet ${table} out`,
    // Only a SYN names the initiator: a connection that conntrack first meets mid-stream stays untagged
    // rather than tagged with whichever end spoke first.
    `add rule inet ${table} out tcp flags & (syn | ack) == syn ct mark set meta skuid map @initiators`,
    `add rule inet ${table} out meta l4proto != tcp ct state new ct mark set meta skuid map @initiators`,
    ...ordered.map((fault) => `add rule inet ${table} out jump f${fault.id}`),
  ].join("\n");
}

/** Removes fault chains; run after `outChainScript`, which drops the jumps to them. */
export function deleteChainsScript(table: string, ids: readonly number[]): string {
  return ids.map((id) => `delete chain inet ${table} f${id}`).join("\n");
}
