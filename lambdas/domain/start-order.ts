// Which member a node starting a new cluster waits for before it starts etcd. Before raft, an etcd
// told `--initial-cluster-state new` with an empty data dir asks the other initial members whether
// it is already a member of a running cluster (etcd's `isMemberBootstrapped`, 3.4 and 3.5): their
// peer URLs in string order, one after the other, until one answers, each with a fixed 1 s timeout.
// A peer that has bound its port but is still in that same check accepts the connection and answers
// nothing, so members that start within tens of ms of each other each wait a second per such peer.
// The fix is an order: every initial member but the one whose peer URL sorts first waits until
// that one answers on its peer port, which makes it every other member's first answer; the first
// one meets the others' ports still closed (refused at once). A port that stays closed is waited
// for only briefly (`closedMs`): the first member may boot seconds later, and the others must not
// wait for it longer than a start's spread. A restore gives etcd its data (no check), and a join is
// `existing` (no check): neither waits.

/** How long a node waits for the first member's peer port while it is closed: more than the spread
 * of etcd starts of members released together (under 70 ms in the simulator's traced bootstraps),
 * small against an instance's boot on AWS, where the first member may come seconds later. */
export const START_AFTER_CLOSED_MS = 150;

export interface StartAfter {
  /** The peer URL to wait for: answered (serving), or closed for longer than `closedMs`. */
  readonly peerUrl: string;
  readonly closedMs: number;
}

/** What `ownPeerUrl` waits for among `initialPeerUrls` (its own included); undefined when it is the
 * member every other waits for, or not an initial member. */
export function startAfter(initialPeerUrls: readonly string[], ownPeerUrl: string): StartAfter | undefined {
  if (!initialPeerUrls.includes(ownPeerUrl)) return undefined;
  // etcd sorts them as strings (Go's sort.Strings): "…1.10:2380" before "…1.9:2380".
  const first = [...initialPeerUrls].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[0];
  return first === undefined || first === ownPeerUrl
    ? undefined
    : { peerUrl: first, closedMs: START_AFTER_CLOSED_MS };
}
