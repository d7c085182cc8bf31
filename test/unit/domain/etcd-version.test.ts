// etcd's version rules, case by case: reading versions, which node may join which cluster and why
// not, and how the recorded cluster version follows the members.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type ClusterVersion,
  clusterVersionAfter,
  compareEtcdVersions,
  decideJoinVersion,
  formatEtcdVersion,
  type JoinVersionInput,
  type MemberVersion,
  parseClusterVersion,
  parseEtcdVersion,
} from "../../../lambdas/domain/etcd-version";

const v = (text: string) => parseEtcdVersion(text);
const cv = (text: string): ClusterVersion => parseClusterVersion(text);

/** Members named m1, m2, … running these versions; "-" did not answer. */
function members(...versions: string[]): MemberVersion[] {
  return versions.map((text, i) => ({ member: `m${i + 1}`, version: text === "-" ? undefined : v(text) }));
}

function join(joining: string, recorded: string | undefined, running: string[], authEnabled = false) {
  const input: JoinVersionInput = {
    joining: v(joining),
    recorded: recorded === undefined ? undefined : cv(recorded),
    members: members(...running),
    authEnabled,
  };
  return decideJoinVersion(input);
}

describe("reading etcd versions", () => {
  const accepted: [string, string, readonly (string | number)[]][] = [
    ["3.5.21", "3.5.21", []],
    ["v3.5.21", "3.5.21", []],
    ["  3.4.30\n", "3.4.30", []],
    ["3.4.23+dfsg", "3.4.23", []],
    ["3.4.23+dfsg-4", "3.4.23", []],
    ["3.6.0-rc.1", "3.6.0-rc.1", ["rc", 1]],
    ["3.6.0-alpha.0", "3.6.0-alpha.0", ["alpha", 0]],
    ["0.0.0", "0.0.0", []],
  ];
  for (const [text, formatted, prerelease] of accepted) {
    test(`reads ${JSON.stringify(text)} as ${formatted}`, () => {
      const version = v(text);
      assert.equal(formatEtcdVersion(version), formatted);
      assert.deepEqual(version.prerelease, prerelease);
      assert.equal(version.text, text.trim());
    });
  }

  const refused = [
    "",
    "3.5",
    "3",
    "V3.5.21",
    "3.5.x",
    "03.5.21",
    "3.05.21",
    "3.5.21.1",
    "etcd Version: 3.5.21",
    "3.5.21-",
    "3.5.21+",
    "1:3.4.30-1",
    "3.5.1234567890",
    "3.6.0-rc.12345678901",
    "latest",
  ];
  for (const text of refused) {
    test(`refuses ${JSON.stringify(text)}, naming it`, () => {
      assert.throws(() => parseEtcdVersion(text, "installed etcd version"), {
        name: "InvalidEtcdVersionError",
        message: new RegExp(`^installed etcd version .*${escapeRegExp(JSON.stringify(text))}`),
      });
    });
  }

  test("refuses a value that is not text", () => {
    assert.throws(() => parseEtcdVersion(3.5 as unknown as string), {
      name: "InvalidEtcdVersionError",
      message: /received 3\.5$/,
    });
  });

  test("reads cluster versions as the ledger keeps them and as etcd prints them, nothing else", () => {
    assert.deepEqual(cv("3.5"), { major: 3, minor: 5 });
    assert.deepEqual(cv("3.5.0"), { major: 3, minor: 5 });
    assert.deepEqual(cv("v3.6"), { major: 3, minor: 6 });
    for (const text of ["3.5.2", "3", "3.x", ""]) {
      assert.throws(() => parseClusterVersion(text), { name: "InvalidEtcdVersionError" });
    }
  });

  test("orders releases by semantic-versioning precedence, a release above its pre-releases", () => {
    const ordered = [
      "3.4.9",
      "3.4.10",
      "3.5.0-alpha.0",
      "3.5.0-alpha.1",
      "3.5.0-alpha.beta",
      "3.5.0-rc.1",
      "3.5.0",
      "3.5.21",
      "3.6.0",
    ].map(v);
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        const [a, b] = [ordered[i], ordered[j]];
        assert.ok(a && b);
        assert.equal(Math.sign(compareEtcdVersions(a, b)), Math.sign(i - j), `${a.text} vs ${b.text}`);
      }
    }
    assert.equal(compareEtcdVersions(v("3.4.23+dfsg"), v("3.4.23")), 0, "build metadata is ignored");
  });
});

describe("which etcd version may join", () => {
  const allowed: [string, string, string | undefined, string[], string][] = [
    ["the first node sets the version", "3.5.21", undefined, [], "first"],
    ["a patch up", "3.5.22", "3.5", ["3.5.21", "3.5.21", "3.5.21"], "same-minor"],
    ["a patch down", "3.5.20", "3.5", ["3.5.21", "3.5.21", "3.5.21"], "same-minor"],
    ["the same release", "3.5.21", "3.5", ["3.5.21", "3.5.21", "3.5.21"], "same-minor"],
    ["a pre-release of the cluster's minor", "3.5.0-rc.1", "3.5", ["3.5.21"], "same-minor"],
    [
      "a minor step once every member runs the previous minor",
      "3.5.0",
      "3.4",
      ["3.4.30", "3.4.30", "3.4.30"],
      "minor-up",
    ],
    ["the step continues in a mixed cluster", "3.5.21", "3.4", ["3.5.21", "3.4.30", "3.4.30"], "minor-up"],
    [
      "an old-minor node may come back while the step is under way",
      "3.4.30",
      "3.4",
      ["3.5.21", "3.4.30"],
      "same-minor",
    ],
    [
      "3.6 once every 3.5 member runs 3.5.32 or later",
      "3.6.1",
      "3.5",
      ["3.5.32", "3.5.33", "3.5.32"],
      "minor-up",
    ],
    ["a patch move while silent members are out", "3.5.22", "3.5", ["3.5.21", "-", "3.5.21"], "same-minor"],
    ["the recorded version alone (members silent)", "3.5.21", "3.5", ["-", "-"], "same-minor"],
    ["a restored generation at its recorded minor", "3.5.21", "3.5", [], "same-minor"],
    ["members ahead of a stale ledger count", "3.6.0", "3.4", ["3.5.32", "3.5.32", "3.5.32"], "minor-up"],
  ];
  for (const [what, joining, recorded, running, step] of allowed) {
    test(`allows ${what}`, () => {
      const verdict = join(joining, recorded, running);
      assert.equal(verdict.allowed, true, verdict.reason);
      assert.equal(verdict.allowed && verdict.step, step);
    });
  }

  const refusedCases: [string, string, string | undefined, string[], string, RegExp][] = [
    [
      "a skipped minor",
      "3.6.0",
      "3.4",
      ["3.4.30", "3.4.30", "3.4.30"],
      "skipped-minor",
      /^3\.6\.0 skips a minor: the cluster version is 3\.4 and etcd upgrades one minor at a time \(3\.4 → 3\.5 first\)$/,
    ],
    [
      "a skipped minor in a cluster half-way to the next",
      "3.6.0",
      "3.4",
      ["3.5.32", "3.4.30", "3.5.32"],
      "skipped-minor",
      /cluster version is 3\.4/,
    ],
    [
      "a minor downgrade",
      "3.4.30",
      "3.5",
      ["3.5.21", "3.5.21", "3.5.21"],
      "minor-downgrade",
      /^3\.4\.30 is below the cluster version 3\.5: etcd does not lower its cluster version/,
    ],
    [
      "a minor downgrade once the members moved on, though the ledger lags",
      "3.4.30",
      "3.4",
      ["3.5.21", "3.5.21", "3.5.21"],
      "minor-downgrade",
      /below the cluster version 3\.5/,
    ],
    [
      "another major",
      "4.0.0",
      "3.5",
      ["3.5.21"],
      "different-major",
      /another major version than the cluster's 3\.5/,
    ],
    [
      "a minor step while a member is silent",
      "3.5.0",
      "3.4",
      ["3.4.30", "-", "3.4.30"],
      "members-unconfirmed",
      /but member m2 did not report its version: a minor step waits until every member is seen on 3\.4 or later/,
    ],
    [
      "a minor step with no member to look at",
      "3.6.0",
      "3.5",
      [],
      "members-unconfirmed",
      /no member reports its version/,
    ],
    [
      "3.6 before every 3.5 member runs 3.5.32",
      "3.6.0",
      "3.5",
      ["3.5.32", "3.5.21", "3.5.32"],
      "below-step-prerequisite",
      /but member m2 runs 3\.5\.21: .*3\.5\.32 or later first.*; roll 3\.5\.32 or later first$/,
    ],
    [
      "an old 3.5 patch in a cluster stepping to 3.6",
      "3.5.21",
      "3.5",
      ["3.6.0", "3.5.32", "3.5.32"],
      "below-step-prerequisite",
      /stepping to 3\.6 \(m1 runs 3\.6\.0\), whose 3\.5 members must run 3\.5\.32 or later/,
    ],
  ];
  for (const [what, joining, recorded, running, refusal, reason] of refusedCases) {
    test(`refuses ${what}`, () => {
      const verdict = join(joining, recorded, running);
      assert.equal(verdict.allowed, false, verdict.reason);
      assert.equal(!verdict.allowed && verdict.refusal, refusal);
      assert.match(verdict.reason, reason);
    });
  }

  test("refuses 3.4 → 3.5 when etcd authentication is on, and allows it when off", () => {
    const running = ["3.4.30", "3.4.30", "3.4.30"];
    const on = join("3.5.21", "3.4", running, true);
    assert.equal(!on.allowed && on.refusal, "auth-rolling-upgrade");
    assert.match(on.reason, /rolling upgrade from 3\.4 to 3\.5 with auth enabled/);
    assert.equal(join("3.5.21", "3.4", running, false).allowed, true);
    assert.equal(join("3.6.1", "3.5", ["3.5.32"], true).allowed, true, "only 3.4 → 3.5 is affected");
  });

  test("prerequisites are data the caller may replace", () => {
    const verdict = decideJoinVersion({
      joining: v("3.6.0"),
      recorded: cv("3.5"),
      members: members("3.5.21"),
      authEnabled: false,
      prerequisites: [],
    });
    assert.equal(verdict.allowed, true);
  });

  test("an allowed join says what the members run", () => {
    assert.match(
      join("3.5.22", "3.5", ["3.5.21", "3.5.21", "-"]).reason,
      /members run 3\.5\.21 \(2\), 1 silent\): patch releases move freely, up or down$/,
    );
  });
});

describe("the recorded cluster version", () => {
  const cases: [string, string | undefined, string[], string | undefined, boolean, RegExp][] = [
    [
      "is first recorded from the lowest member",
      undefined,
      ["3.5.21", "3.5.22"],
      "3.5",
      true,
      /first record/,
    ],
    [
      "moves up once every member runs the new minor",
      "3.4",
      ["3.5.21", "3.5.21", "3.5.21"],
      "3.5",
      true,
      /moves from 3\.4 to 3\.5/,
    ],
    [
      "stays while one member runs the old minor",
      "3.4",
      ["3.5.21", "3.4.30", "3.5.21"],
      "3.4",
      false,
      /stays 3\.4/,
    ],
    ["stays while a member is silent", "3.4", ["3.5.21", "-", "3.5.21"], "3.4", false, /m2 did not report/],
    ["stays with no member", "3.5", [], "3.5", false, /no member/],
    [
      "never moves down",
      "3.5",
      ["3.4.30", "3.5.21"],
      "3.5",
      false,
      /m1 runs 3\.4\.30, below the recorded 3\.5: etcd never lowers/,
    ],
    ["ignores patches", "3.5", ["3.5.21", "3.5.40"], "3.5", false, /stays 3\.5/],
  ];
  for (const [what, recorded, running, expected, moved, reason] of cases) {
    test(what, () => {
      const update = clusterVersionAfter(
        recorded === undefined ? undefined : cv(recorded),
        members(...running),
      );
      assert.deepEqual(update.version, expected === undefined ? undefined : cv(expected));
      assert.equal(update.moved, moved);
      assert.match(update.reason, reason);
    });
  }
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
