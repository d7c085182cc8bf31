// Raft quorum arithmetic, kept apart so every rule that depends on it reads the same numbers.

/** Votes a cluster of `voters` voting members needs to commit: floor(n/2) + 1. */
export function quorum(voters: number): number {
  return (voters - (voters % 2)) / 2 + 1;
}

/** Voters that may fail before a cluster of `voters` loses quorum. */
export function faultTolerance(voters: number): number {
  return voters - quorum(voters);
}
