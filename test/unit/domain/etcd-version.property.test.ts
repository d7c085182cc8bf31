// Properties of etcd's version rules over random histories: nodes of random versions ask to join, members
// leave, members stop and resume answering, and the ledger records the cluster version after each step.
// Whatever the history, a running cluster is never two minors apart, its cluster version never goes
// down, and no member runs below it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  type ClusterVersion,
  clusterVersionAfter,
  compareClusterVersions,
  decideJoinVersion,
  type EtcdVersion,
  effectiveClusterVersion,
  formatEtcdVersion,
  type MemberVersion,
  parseEtcdVersion,
} from "../../../lambdas/domain/etcd-version";

const RUNS = { numRuns: 3_000 };

const versionArb: fc.Arbitrary<EtcdVersion> = fc
  .record({
    major: fc.constantFrom(3, 3, 3, 3, 2, 4),
    minor: fc.integer({ min: 3, max: 8 }),
    patch: fc.integer({ min: 0, max: 40 }),
    prerelease: fc.constantFrom([], [], [], ["rc", 1], ["alpha", 0]),
  })
  .map((parts) => parseEtcdVersion(formatEtcdVersion({ ...parts, text: "" })));

interface RealMember {
  readonly id: number;
  readonly version: EtcdVersion;
  /** Its Status request fails: the rules do not see its version. */
  silent: boolean;
}

type Step =
  | { readonly kind: "join"; readonly version: EtcdVersion; readonly silent: boolean }
  | { readonly kind: "leave"; readonly index: number }
  | { readonly kind: "toggle"; readonly index: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("join"), version: versionArb, silent: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("leave"), index: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("toggle"), index: fc.nat() }) },
) as fc.Arbitrary<Step>;

function visible(members: readonly RealMember[]): MemberVersion[] {
  return members.map((m) => ({ member: `m${m.id}`, version: m.silent ? undefined : m.version }));
}

/** Runs a history and checks the invariants after every step. */
function run(steps: readonly Step[], authEnabled: boolean): void {
  let members: RealMember[] = [];
  let recorded: ClusterVersion | undefined;
  let nextId = 1;
  for (const step of steps) {
    if (step.kind === "join") {
      const verdict = decideJoinVersion({
        joining: step.version,
        recorded,
        members: visible(members),
        authEnabled,
      });
      if (verdict.allowed) members.push({ id: nextId++, version: step.version, silent: step.silent });
    } else if (members.length > 0) {
      const index = step.index % members.length;
      if (step.kind === "leave") members = members.filter((_, i) => i !== index);
      else {
        const member = members[index];
        if (member) member.silent = !member.silent;
      }
    }
    const before = recorded;
    recorded = clusterVersionAfter(recorded, visible(members)).version;
    const history = `${members.map((m) => `${formatEtcdVersion(m.version)}${m.silent ? "?" : ""}`).join(",")} recorded ${JSON.stringify(recorded)}`;

    const majors = new Set(members.map((m) => m.version.major));
    assert.ok(majors.size <= 1, `one major: ${history}`);
    const minors = members.map((m) => m.version.minor);
    if (minors.length > 0) {
      assert.ok(Math.max(...minors) - Math.min(...minors) <= 1, `never two minors apart: ${history}`);
    }
    if (before !== undefined) {
      assert.ok(
        recorded !== undefined && compareClusterVersions(recorded, before) >= 0,
        `the cluster version never goes down: ${history}`,
      );
    }
    if (recorded !== undefined) {
      for (const m of members) {
        assert.ok(
          compareClusterVersions({ major: m.version.major, minor: m.version.minor }, recorded) >= 0,
          `no member below the cluster version: ${history}`,
        );
      }
    }
  }
}

describe("etcd version rules over random histories", () => {
  test("a running cluster is never two minors apart, one major, its version never lowered", () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 40 }), fc.boolean(), (steps, auth) => run(steps, auth)),
      RUNS,
    );
  });

  test("with authentication on, no history takes the cluster from 3.4 to 3.5", () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 30 }), (steps) => {
        const start: Step = { kind: "join", version: parseEtcdVersion("3.4.30"), silent: false };
        let members: RealMember[] = [];
        let recorded: ClusterVersion | undefined;
        for (const [i, step] of [start, ...steps].entries()) {
          if (step.kind === "join") {
            const verdict = decideJoinVersion({
              joining: step.version,
              recorded,
              members: visible(members),
              authEnabled: true,
            });
            if (verdict.allowed) members.push({ id: i, version: step.version, silent: step.silent });
          } else if (members.length > 1) {
            members = members.filter((_, j) => j !== step.index % members.length);
          }
          recorded = clusterVersionAfter(recorded, visible(members)).version;
          assert.ok(!members.some((m) => m.version.minor >= 5), "no 3.5 member ever joined");
        }
      }),
      RUNS,
    );
  });

  test("patch releases move freely within the cluster's minor, up or down", () => {
    const clusterArb = fc.record({
      minor: fc.integer({ min: 3, max: 8 }),
      patches: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 7 }),
      joining: fc.integer({ min: 0, max: 40 }),
    });
    fc.assert(
      fc.property(clusterArb, ({ minor, patches, joining }) => {
        const members = patches.map((patch, i) => ({
          member: `m${i}`,
          version: parseEtcdVersion(`3.${minor}.${patch}`),
        }));
        const verdict = decideJoinVersion({
          joining: parseEtcdVersion(`3.${minor}.${joining}`),
          recorded: { major: 3, minor },
          members,
          authEnabled: true,
          prerequisites: [],
        });
        assert.equal(verdict.allowed && verdict.step, "same-minor", verdict.reason);
      }),
      RUNS,
    );
  });

  test("a node below the cluster version, or two minors above it, is never allowed", () => {
    const memberArb = fc.record({ member: fc.string(), version: fc.option(versionArb, { nil: undefined }) });
    fc.assert(
      fc.property(
        versionArb,
        fc.option(fc.record({ major: fc.constant(3), minor: fc.integer({ min: 3, max: 8 }) }), {
          nil: undefined,
        }),
        fc.array(memberArb, { maxLength: 7 }),
        fc.boolean(),
        (joining, recorded, members, auth) => {
          const verdict = decideJoinVersion({ joining, recorded, members, authEnabled: auth });
          const cluster = effectiveClusterVersion(recorded, members);
          if (cluster === undefined || !verdict.allowed) return;
          assert.equal(joining.major, cluster.major);
          assert.ok(joining.minor >= cluster.minor, `no minor downgrade: ${verdict.reason}`);
          assert.ok(joining.minor <= cluster.minor + 1, `no skipped minor: ${verdict.reason}`);
          if (joining.minor === cluster.minor + 1) {
            assert.ok(
              members.length > 0 && members.every((m) => m.version !== undefined),
              `a minor step sees every member: ${verdict.reason}`,
            );
          }
        },
      ),
      RUNS,
    );
  });

  test("any text that is not a version is refused with an error that names it", () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          const version = parseEtcdVersion(text);
          // Whatever was accepted reads back as itself, build metadata and a leading "v" aside.
          assert.equal(formatEtcdVersion(version), text.trim().replace(/^v/, "").replace(/\+.*$/, ""));
        } catch (error) {
          assert.ok(error instanceof Error && error.name === "InvalidEtcdVersionError");
          assert.ok(error.message.includes(JSON.stringify(text)), error.message);
        }
      }),
      RUNS,
    );
  });
});
