// etcd's version rules, pure: which etcd version a joining node may run next to the cluster's members,
// and how the cluster's recorded version moves. The control plane asks before it admits a node; the
// ledger keeps the result of clusterVersionAfter().
//
// Where the rules come from (etcd.io/docs/v3.6, fetched 2026-08; etcd's server code):
// - etcd's cluster version is major.minor of its lowest member; the leader moves it up once every
//   member runs a newer minor and never lowers it by itself (only the 3.6 downgrade API does).
// - Upgrades: patch releases within a minor, or one minor at a time (3.4 → 3.5 → 3.6); a skipped
//   minor "is not supported and will likely fail" (upgrades/upgrading-etcd).
// - A member whose version is below the cluster version cannot join; a mixed cluster runs the lowest
//   member's protocol, so while one member still runs the old minor, an old-minor node may come back
//   (upgrade_3_6, "Rollback": "allowing rollback without following a formal downgrade process").
// - Patches move both ways: the cluster and storage versions carry no patch, and a node's
//   compatibility check compares the cluster version (x.y.0) with its own version, so 3.5.21 and
//   3.5.22 interoperate whichever is newer.
// - Some minor steps have prerequisites, kept as data below (MINOR_STEP_PREREQUISITES), and 3.4 → 3.5
//   is not a rolling upgrade when etcd authentication is on (upgrade_3_5: 3.5 changed the WAL format
//   of auth entries, etcd-io/etcd#11943).
// - A minor downgrade is refused. 3.6 → 3.5 needs `etcdctl downgrade enable 3.5` first, and
//   3.5 → 3.4 lowers the cluster version as soon as one 3.4 member joins (downgrade_3_5; 3.4.32 or
//   later only): both are operator procedures with a snapshot in hand, not something a deploy should
//   start by accident.

export class InvalidEtcdVersionError extends Error {
  override readonly name = "InvalidEtcdVersionError";
}

/** A release of etcd as a node reports it (`etcd --version`, or etcd's Status `version`). */
export interface EtcdVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Semantic-versioning pre-release identifiers ("3.6.0-rc.1" → ["rc", 1]); empty for a release. */
  readonly prerelease: readonly (string | number)[];
  /** The text it was read from, trimmed. */
  readonly text: string;
}

/** etcd's cluster version: major.minor, what the members agree to speak (etcd prints it "3.5.0"). */
export interface ClusterVersion {
  readonly major: number;
  readonly minor: number;
}

/** One etcd member and the version it reported; undefined when it did not answer. */
export interface MemberVersion {
  /** How reasons name it (the instance ID, or the member ID). */
  readonly member: string;
  readonly version: EtcdVersion | undefined;
}

/** A minor step etcd lets happen only once the members still on the previous minor are recent enough. */
export interface MinorStepPrerequisite {
  /** The minor stepped to. */
  readonly to: ClusterVersion;
  /** Every member still on the previous minor runs at least this. */
  readonly minimumPrevious: EtcdVersion;
  /** Where etcd says so. */
  readonly source: string;
}

// etcd's semantic versions, with a leading "v" as its release tags have it. Build metadata after "+"
// (a distribution's "+dfsg", "+dfsg-1") is allowed and ignored. Nine digits per number keep every
// value an exact integer.
const VERSION =
  /^v?(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.~+-]+)?$/;
const CLUSTER_VERSION = /^v?(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:\.(0|[1-9]\d{0,8}))?$/;

/** Reads a version such as "3.5.21", "v3.5.21", "3.4.23+dfsg" or "3.6.0-rc.1"; anything else throws. */
export function parseEtcdVersion(text: string, what = "etcd version"): EtcdVersion {
  const trimmed = typeof text === "string" ? text.trim() : "";
  const match = VERSION.exec(trimmed);
  if (typeof text !== "string" || match === null) {
    throw new InvalidEtcdVersionError(
      `${what} must be an etcd release such as 3.5.21 or v3.5.21; received ${JSON.stringify(text)}`,
    );
  }
  const [, major, minor, patch, prerelease] = match;
  const identifiers = prerelease === undefined ? [] : prerelease.split(".");
  // Longer numbers would not compare exactly.
  const huge = identifiers.find((part) => /^\d{10,}$/.test(part));
  if (huge !== undefined) {
    throw new InvalidEtcdVersionError(
      `${what} has a pre-release number too large to compare (${huge}); received ${JSON.stringify(text)}`,
    );
  }
  return {
    major: Number(major),
    minor: Number(minor),
    patch: Number(patch),
    prerelease: identifiers.map(identifier),
    text: trimmed,
  };
}

/** Reads a cluster version as the ledger keeps it ("3.5") or as etcd prints it ("3.5.0"). */
export function parseClusterVersion(text: string, what = "cluster version"): ClusterVersion {
  const trimmed = typeof text === "string" ? text.trim() : "";
  const match = CLUSTER_VERSION.exec(trimmed);
  if (typeof text !== "string" || match === null || (match[3] !== undefined && match[3] !== "0")) {
    throw new InvalidEtcdVersionError(
      `${what} must be major.minor such as 3.5 (or etcd's 3.5.0); received ${JSON.stringify(text)}`,
    );
  }
  return { major: Number(match[1]), minor: Number(match[2]) };
}

export function formatEtcdVersion(version: EtcdVersion): string {
  const core = `${version.major}.${version.minor}.${version.patch}`;
  return version.prerelease.length === 0 ? core : `${core}-${version.prerelease.join(".")}`;
}

export function formatClusterVersion(version: ClusterVersion): string {
  return `${version.major}.${version.minor}`;
}

export function clusterVersionOf(version: EtcdVersion): ClusterVersion {
  return { major: version.major, minor: version.minor };
}

/** Semantic-versioning precedence: negative when a comes first, 0 when equal (build metadata aside). */
export function compareEtcdVersions(a: EtcdVersion, b: EtcdVersion): number {
  const core = a.major - b.major || a.minor - b.minor || a.patch - b.patch;
  if (core !== 0) return core;
  // A release ranks above its pre-releases.
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    return b.prerelease.length - a.prerelease.length;
  }
  for (let i = 0; i < a.prerelease.length && i < b.prerelease.length; i++) {
    const order = compareIdentifiers(a.prerelease[i], b.prerelease[i]);
    if (order !== 0) return order;
  }
  return a.prerelease.length - b.prerelease.length;
}

export function compareClusterVersions(a: ClusterVersion, b: ClusterVersion): number {
  return a.major - b.major || a.minor - b.minor;
}

/** What etcd asks of a minor step, as of etcd.io/docs/v3.6/upgrades/upgrade_3_6 (2026-08). */
export const MINOR_STEP_PREREQUISITES: readonly MinorStepPrerequisite[] = [
  {
    to: { major: 3, minor: 6 },
    minimumPrevious: parseEtcdVersion("3.5.32"),
    source:
      "etcd's 3.5 → 3.6 upgrade guide: every 3.5 member on 3.5.32 or later first (3.5.24–3.5.32 fix upgrade blockers)",
  },
];

/**
 * The version the cluster runs at, as etcd sees it: the recorded one, or the lowest member's minor
 * when that is higher (the ledger has not caught up). Undefined when nothing is known.
 */
export function effectiveClusterVersion(
  recorded: ClusterVersion | undefined,
  members: readonly MemberVersion[],
): ClusterVersion | undefined {
  const lowest = lowestReported(members);
  if (recorded === undefined) return lowest && clusterVersionOf(lowest.version);
  if (lowest === undefined) return recorded;
  const observed = clusterVersionOf(lowest.version);
  return compareClusterVersions(observed, recorded) > 0 ? observed : recorded;
}

export type VersionRefusal =
  | "different-major"
  | "minor-downgrade"
  | "skipped-minor"
  | "members-unconfirmed"
  | "below-step-prerequisite"
  | "auth-rolling-upgrade";

export type JoinVersionVerdict =
  | {
      readonly allowed: true;
      /** first: nothing to compare with; same-minor: a patch move either way; minor-up: one step up. */
      readonly step: "first" | "same-minor" | "minor-up";
      readonly clusterVersion: ClusterVersion | undefined;
      readonly reason: string;
    }
  | {
      readonly allowed: false;
      readonly refusal: VersionRefusal;
      readonly clusterVersion: ClusterVersion | undefined;
      readonly reason: string;
    };

export interface JoinVersionInput {
  /** The version the joining node installed. */
  readonly joining: EtcdVersion;
  /** The cluster version the ledger records; undefined before the first is recorded. */
  readonly recorded: ClusterVersion | undefined;
  /** etcd's members (learners included) and what each reported. */
  readonly members: readonly MemberVersion[];
  /** etcd authentication is on: 3.4 → 3.5 is then no rolling upgrade. */
  readonly authEnabled: boolean;
  /** @default MINOR_STEP_PREREQUISITES */
  readonly prerequisites?: readonly MinorStepPrerequisite[];
}

/** May a node running `joining` join (or rejoin) this cluster? Refusals say why, in an operator's words. */
export function decideJoinVersion(input: JoinVersionInput): JoinVersionVerdict {
  const { joining, members } = input;
  const prerequisites = input.prerequisites ?? MINOR_STEP_PREREQUISITES;
  const cluster = effectiveClusterVersion(input.recorded, members);
  const node = formatEtcdVersion(joining);
  if (cluster === undefined && members.length > 0) {
    // Members exist but none said what it runs: the node could be any distance from them.
    return {
      allowed: false,
      refusal: "members-unconfirmed",
      clusterVersion: undefined,
      reason: `no cluster version is recorded and none of the ${members.length} member(s) reported its version: ${node} waits until one does`,
    };
  }
  if (cluster === undefined) {
    return {
      allowed: true,
      step: "first",
      clusterVersion: undefined,
      reason: `no cluster version is recorded and there is no member yet: ${node} sets it`,
    };
  }
  const cv = formatClusterVersion(cluster);
  const refuse = (refusal: VersionRefusal, reason: string): JoinVersionVerdict => ({
    allowed: false,
    refusal,
    clusterVersion: cluster,
    reason,
  });
  if (joining.major !== cluster.major) {
    return refuse(
      "different-major",
      `${node} is another major version than the cluster's ${cv}: etcd has no upgrade or downgrade across majors`,
    );
  }
  const steps = joining.minor - cluster.minor;
  if (steps < 0) {
    return refuse(
      "minor-downgrade",
      `${node} is below the cluster version ${cv}: etcd does not lower its cluster version by a rolling ` +
        "restart (a minor downgrade is etcd's own procedure — `etcdctl downgrade enable` from 3.6 — run by " +
        `an operator with a snapshot); deploy a ${cv} release instead`,
    );
  }
  if (steps > 1) {
    return refuse(
      "skipped-minor",
      `${node} skips a minor: the cluster version is ${cv} and etcd upgrades one minor at a time ` +
        `(${cv} → ${cluster.major}.${cluster.minor + 1} first)`,
    );
  }
  const ahead = members.find(
    (m) => m.version !== undefined && m.version.major === cluster.major && m.version.minor > cluster.minor,
  );
  if (steps === 0) {
    // While a step is under way, an old-minor node must keep the step's prerequisite true.
    if (ahead?.version !== undefined) {
      const stepping = prerequisiteFor(prerequisites, clusterVersionOf(ahead.version));
      if (stepping !== undefined && compareEtcdVersions(joining, stepping.minimumPrevious) < 0) {
        return refuse(
          "below-step-prerequisite",
          `${node} would join a cluster stepping to ${formatClusterVersion(stepping.to)} (${ahead.member} runs ` +
            `${formatEtcdVersion(ahead.version)}), whose ${cv} members must run ` +
            `${formatEtcdVersion(stepping.minimumPrevious)} or later: ${stepping.source}`,
        );
      }
    }
    return {
      allowed: true,
      step: "same-minor",
      clusterVersion: cluster,
      reason: `${node} runs the cluster's minor ${cv} (members run ${describeVersions(members)}): patch releases move freely, up or down`,
    };
  }
  const target = clusterVersionOf(joining);
  const to = formatClusterVersion(target);
  const silent = members.find((m) => m.version === undefined);
  if (members.length === 0 || silent !== undefined) {
    const unseen =
      silent === undefined
        ? "no member reports its version"
        : `member ${silent.member} did not report its version`;
    return refuse(
      "members-unconfirmed",
      `${node} would step the cluster from ${cv} to ${to}, but ${unseen}: a minor step waits until every ` +
        `member is seen on ${cv} or later`,
    );
  }
  if (input.authEnabled && cluster.major === 3 && cluster.minor <= 4) {
    return refuse(
      "auth-rolling-upgrade",
      `${node} would step the cluster from ${cv} to ${to} with etcd authentication on: etcd does not support ` +
        "a rolling upgrade from 3.4 to 3.5 with auth enabled (3.5 changed the WAL format of auth entries, " +
        "etcd-io/etcd#11943); move the data with a snapshot restore into a new cluster instead",
    );
  }
  const prerequisite = prerequisiteFor(prerequisites, target);
  if (prerequisite !== undefined) {
    const behind = members.find(
      (m) =>
        m.version !== undefined &&
        m.version.minor === cluster.minor &&
        compareEtcdVersions(m.version, prerequisite.minimumPrevious) < 0,
    );
    if (behind?.version) {
      return refuse(
        "below-step-prerequisite",
        `${node} would step the cluster from ${cv} to ${to}, but member ${behind.member} runs ` +
          `${formatEtcdVersion(behind.version)}: ${prerequisite.source}; roll ` +
          `${formatEtcdVersion(prerequisite.minimumPrevious)} or later first`,
      );
    }
  }
  return {
    allowed: true,
    step: "minor-up",
    clusterVersion: cluster,
    reason:
      `${node} steps the cluster one minor, from ${cv} to ${to}: every member runs ${cv} or later ` +
      `(${describeVersions(members)}); etcd moves its cluster version to ${to} once every member runs it`,
  };
}

export interface ClusterVersionUpdate {
  /** What the ledger should record. */
  readonly version: ClusterVersion | undefined;
  /** It differs from what was recorded. */
  readonly moved: boolean;
  readonly reason: string;
}

/**
 * The cluster version after looking at the members, as etcd's leader decides its own: the lowest
 * member's minor once every member has reported, and only ever upward.
 */
export function clusterVersionAfter(
  recorded: ClusterVersion | undefined,
  members: readonly MemberVersion[],
): ClusterVersionUpdate {
  const keep = (reason: string): ClusterVersionUpdate => ({ version: recorded, moved: false, reason });
  const was = recorded === undefined ? "none recorded" : formatClusterVersion(recorded);
  if (members.length === 0) return keep(`no member to look at; cluster version stays ${was}`);
  const silent = members.find((m) => m.version === undefined);
  if (silent !== undefined) {
    return keep(`member ${silent.member} did not report its version; cluster version stays ${was}`);
  }
  const lowest = lowestReported(members);
  if (lowest === undefined) return keep(`no member reported a version; cluster version stays ${was}`);
  const observed = clusterVersionOf(lowest.version);
  const now = formatClusterVersion(observed);
  if (recorded === undefined) {
    return {
      version: observed,
      moved: true,
      reason: `first record: the lowest member, ${lowest.member}, runs ${formatEtcdVersion(lowest.version)}`,
    };
  }
  const order = compareClusterVersions(observed, recorded);
  if (order > 0) {
    return {
      version: observed,
      moved: true,
      reason: `every member runs ${now} or later (lowest: ${lowest.member} on ${formatEtcdVersion(lowest.version)}): the cluster version moves from ${was} to ${now}, as etcd's own does`,
    };
  }
  if (order < 0) {
    return keep(
      `member ${lowest.member} runs ${formatEtcdVersion(lowest.version)}, below the recorded ${was}: etcd never ` +
        `lowers its cluster version by itself, so that member should not be there; cluster version stays ${was}`,
    );
  }
  return keep(`every member runs ${was} or later; cluster version stays ${was}`);
}

function lowestReported(
  members: readonly MemberVersion[],
): { readonly member: string; readonly version: EtcdVersion } | undefined {
  let lowest: { readonly member: string; readonly version: EtcdVersion } | undefined;
  for (const { member, version } of members) {
    if (version === undefined) continue;
    if (lowest === undefined || compareEtcdVersions(version, lowest.version) < 0) {
      lowest = { member, version };
    }
  }
  return lowest;
}

function prerequisiteFor(
  prerequisites: readonly MinorStepPrerequisite[],
  to: ClusterVersion,
): MinorStepPrerequisite | undefined {
  return prerequisites.find((p) => compareClusterVersions(p.to, to) === 0);
}

/** "3.5.21 (2), 3.6.0, 1 silent": what the members run, for a reason. */
function describeVersions(members: readonly MemberVersion[]): string {
  const counts = new Map<string, number>();
  let silent = 0;
  for (const { version } of members) {
    if (version === undefined) silent += 1;
    else counts.set(formatEtcdVersion(version), (counts.get(formatEtcdVersion(version)) ?? 0) + 1);
  }
  const parts = [...counts].map(([text, n]) => (n === 1 ? text : `${text} (${n})`));
  if (silent > 0) parts.push(`${silent} silent`);
  return parts.length === 0 ? "no member" : parts.join(", ");
}

function identifier(part: string): string | number {
  return /^\d+$/.test(part) ? Number(part) : part;
}

function compareIdentifiers(a: string | number | undefined, b: string | number | undefined): number {
  if (a === b) return 0;
  // Numeric identifiers rank below alphanumeric ones.
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "number") return -1;
  if (typeof b === "number") return 1;
  return String(a) < String(b) ? -1 : 1;
}
