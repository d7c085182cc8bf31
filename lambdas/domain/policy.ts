// The operator's policy (cluster size, join strategy, ports), validated before any decision uses it.
import { JOIN_STRATEGIES, type JoinStrategy, type Policy } from "./snapshot";

export const DEFAULT_CLUSTER_SIZES: readonly number[] = [3, 5, 7];

export class InvalidPolicyError extends Error {
  override readonly name = "InvalidPolicyError";
}

export interface PolicyInput {
  readonly clusterSize: unknown;
  readonly strategy: unknown;
  readonly peerScheme?: unknown;
  readonly peerPort?: unknown;
  readonly clientPort?: unknown;
  readonly learnerReadyTimeoutMs?: unknown;
}

/** Checks every field and names the first one that is wrong, with the value received. */
export function validatePolicy(
  input: PolicyInput,
  allowedSizes: readonly number[] = DEFAULT_CLUSTER_SIZES,
): Policy {
  const { clusterSize, strategy } = input;
  if (typeof clusterSize !== "number" || !allowedSizes.includes(clusterSize)) {
    throw new InvalidPolicyError(
      `cluster size must be one of ${allowedSizes.join(", ")}; received ${JSON.stringify(clusterSize)}`,
    );
  }
  if (!isJoinStrategy(strategy)) {
    throw new InvalidPolicyError(
      `join strategy must be one of ${JOIN_STRATEGIES.join(", ")}; received ${JSON.stringify(strategy)}`,
    );
  }
  const peerScheme = input.peerScheme ?? "http";
  if (peerScheme !== "http" && peerScheme !== "https") {
    throw new InvalidPolicyError(`peer scheme must be http or https; received ${JSON.stringify(peerScheme)}`);
  }
  return {
    clusterSize,
    strategy,
    peerScheme,
    peerPort: port("peer port", input.peerPort ?? 2380),
    clientPort: port("client port", input.clientPort ?? 2379),
    learnerReadyTimeoutMs: positive("learner ready timeout (ms)", input.learnerReadyTimeoutMs ?? 600_000),
  };
}

function isJoinStrategy(value: unknown): value is JoinStrategy {
  return JOIN_STRATEGIES.some((s) => s === value);
}

function port(what: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new InvalidPolicyError(
      `${what} must be an integer from 1 to 65535; received ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function positive(what: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
    throw new InvalidPolicyError(`${what} must be a positive integer; received ${JSON.stringify(value)}`);
  }
  return value;
}
