// fast-check generators of whole snapshots: random groups, member lists, ledgers and subjects.
// Independent coin flips per slot almost always yield a cluster that is full, has a learner or is
// locked, so the engine would nearly never answer `join`. Instead the voter count is drawn relative to
// the configured size, learners and foreign locks are the exception, and the subject is picked from
// the slots its event concerns (a launching outsider, a terminating member, a learner reporting
// ready). decision-coverage.test.ts checks that every decision kind keeps a healthy share. Rolls
// come from the launch template version of each instance (most on version 1, some on 2, a few
// with none) and the etcd version each node reported (mostly compatible releases, some a skipped
// minor, a downgrade or none yet).
import fc from "fast-check";
import {
  JOIN_STRATEGIES,
  type JoinStrategy,
  type Member,
  NODE_PHASES,
  type NodePhase,
  type NodeRecord,
  type Snapshot,
  type Subject,
} from "../../../lambdas/domain/snapshot";
import { instanceId, ipOf, NOW, policy, range } from "../../helpers/snapshots";

/** Instances 1..SLOTS: room for a full cluster of 7 plus launching outsiders. */
const SLOTS = 9;

type Role = "voter" | "learner" | "outsider";
type Health = "healthy" | "unhealthy" | "unstarted";

/** What one slot (instance, etcd member and node record for the same number) looks like. */
interface Slot {
  /** `live` takes its lifecycle state from `state`; the others are instances on their way out. */
  readonly instance: "live" | "Terminating:Wait" | "Terminated" | "absent";
  readonly state: string;
  readonly hasIp: boolean;
  /** Another slot's IP, reused by this instance; -1 when it has its own. */
  readonly ipFrom: number;
  readonly health: Health;
  readonly named: boolean;
  readonly registered: boolean;
  /** The phase a node of its role is normally in, or any phase (records lag and get lost). */
  readonly typicalPhase: boolean;
  readonly phase: NodePhase;
  readonly phaseAgeMs: number;
  readonly launchTemplateVersion: "1" | "2" | "none";
  /** The etcd version its node reported (the ledger), undefined when none. */
  readonly reported: string | undefined;
  /** The etcd version its status answer gave. */
  readonly status: string;
}

function weighted<const T>(...choices: readonly (readonly [number, T])[]): fc.Arbitrary<T> {
  return fc.oneof(...choices.map(([weight, value]) => ({ weight, arbitrary: fc.constant(value) })));
}

const slot: fc.Arbitrary<Slot> = fc.record({
  instance: weighted([16, "live"], [1, "Terminating:Wait"], [1, "Terminated"], [2, "absent"]),
  state: fc.constantFrom("Pending:Wait", "Pending", "InService", "InService", "Standby"),
  hasIp: weighted([9, true], [1, false]),
  ipFrom: fc.oneof(
    { weight: 8, arbitrary: fc.constant(-1) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: SLOTS - 1 }) },
  ),
  health: weighted([8, "healthy"], [1, "unhealthy"], [1, "unstarted"]),
  named: weighted([9, true], [1, false]),
  registered: weighted([5, true], [1, false]),
  typicalPhase: weighted([3, true], [1, false]),
  phase: fc.constantFrom(...NODE_PHASES),
  // Half the range lies past the learner-ready timeout (600 s), so expired learners occur too.
  phaseAgeMs: fc.integer({ min: 0, max: 1_200_000 }),
  launchTemplateVersion: weighted([12, "1"], [6, "2"], [1, "none"]),
  reported: weighted<string | undefined>(
    [24, "3.5.21"],
    [6, "3.5.22"],
    [1, "3.6.5"],
    [1, "3.4.23"],
    [1, "3.7.0"],
    [2, undefined],
  ),
  status: weighted([8, "3.5.21"], [1, "3.5.32"], [1, "3.4.23"]),
});

const TYPICAL_PHASE: Record<Role, NodePhase> = {
  voter: "member",
  learner: "joining",
  outsider: "registered",
};

/** `prepare` never adds: at an equal share it would turn a quarter of all launches into not-a-member. */
const STRATEGY_WEIGHT: Record<JoinStrategy, number> = { prepare: 1, add: 2, replace: 2, prune: 2 };

/** The slots an event is about; `any` keeps the odd requests (a launch of a member, etc.) covered. */
type Pool = "voter" | "learner" | "outsider" | "any";

const subjectFor = <E extends Subject["event"]>(
  event: E,
  pool: fc.Arbitrary<Pool>,
  fresh: fc.Arbitrary<boolean>,
) => fc.record({ event: fc.constant(event), pool, index: fc.nat(), fresh });

/** Launches are the most varied decision (bootstrap, join, not-a-member...), so they come most often. */
const subjectPick = fc.oneof(
  {
    weight: 6,
    arbitrary: subjectFor(
      "launch",
      weighted([16, "outsider"], [1, "voter"], [1, "any"]),
      weighted([4, true], [1, false]),
    ),
  },
  {
    weight: 2,
    arbitrary: subjectFor(
      "terminate",
      weighted([6, "voter"], [2, "learner"], [2, "any"]),
      fc.constant(false),
    ),
  },
  {
    weight: 2,
    arbitrary: subjectFor("ready", weighted([6, "learner"], [2, "voter"], [2, "any"]), fc.constant(false)),
  },
  { weight: 2, arbitrary: subjectFor("reconcile", fc.constant("any"), fc.constant(false)) },
);

/**
 * A launching instance as the launch hook sees it: live, with an IP and registered. Without this the
 * slot's own coin flips make a third of launches leave early (absent, leaving, no IP, unregistered).
 */
const FRESH_LAUNCH = {
  instance: "live",
  state: "Pending:Wait",
  hasIp: true,
  registered: true,
  typicalPhase: true,
} as const satisfies Partial<Slot>;

export const snapshotArb: fc.Arbitrary<Snapshot> = fc
  .record({
    size: fc.constantFrom(3, 5, 7),
    strategy: weighted(...JOIN_STRATEGIES.map((s) => [STRATEGY_WEIGHT[s], s] as const)),
    // Voters short of the configured size: full (0) is common, room to grow as common, over-full rare.
    voterGap: weighted([4, 0], [3, 1], [2, 2], [1, 3], [1, -1]),
    learners: weighted([10, 0], [4, 1], [1, 2]),
    /** A permutation of the slots: the first ones are voters, then learners, the rest outsiders. */
    order: fc.shuffledSubarray(range(0, SLOTS - 1), { minLength: SLOTS, maxLength: SLOTS }),
    slots: fc.array(slot, { minLength: SLOTS, maxLength: SLOTS }),
    cluster: weighted([2, "none"], [1, "forming"], [7, "running"]),
    recordedVersion: weighted<string | undefined>([3, undefined], [6, "3.5"], [1, "3.6"]),
    initialCount: weighted<number | "size">([4, "size"], [1, 1], [1, 5], [1, 7]),
    lock: weighted([6, "none"], [2, "mine"], [2, "expired"], [1, "foreign"]),
    subject: subjectPick,
  })
  .map(
    ({
      size,
      strategy,
      voterGap,
      learners,
      order,
      slots,
      cluster,
      initialCount,
      lock,
      subject,
      recordedVersion,
    }) => {
      const voterCount = size - voterGap;
      const roleAt = (rank: number): Role =>
        rank < voterCount ? "voter" : rank < voterCount + learners ? "learner" : "outsider";
      const roled = slots.map((s, i) => ({ ...s, n: i + 1, role: roleAt(order.indexOf(i)) }));
      const subjectN = subjectSlot(subject, roled);
      const placed = roled.map((s) => (s.n === subjectN && subject.fresh ? { ...s, ...FRESH_LAUNCH } : s));
      const ipOfSlot = (s: Slot & { n: number }) => ipOf(s.ipFrom >= 0 ? s.ipFrom + 1 : s.n);

      const instances = placed.flatMap((s) =>
        s.instance === "absent"
          ? []
          : [
              {
                id: instanceId(s.n),
                lifecycleState: s.instance === "live" ? s.state : s.instance,
                privateIp: s.hasIp ? ipOfSlot(s) : undefined,
                launchTime: NOW - 1000 * (SLOTS - s.n),
                launchTemplate:
                  s.launchTemplateVersion === "none"
                    ? undefined
                    : { id: "lt-0123456789abcdef0", version: s.launchTemplateVersion },
              },
            ],
      );
      const members: Member[] = placed.flatMap((s) => {
        if (s.role === "outsider") return [];
        const started = s.health !== "unstarted";
        return [
          {
            id: String(1000 + s.n),
            name: started && s.named ? instanceId(s.n) : "",
            peerUrls: [`http://${ipOf(s.n)}:2380`],
            clientUrls: started ? [`http://${ipOf(s.n)}:2379`] : [],
            isLearner: s.role === "learner",
            started,
            healthy: s.health === "healthy",
            version: s.health === "healthy" ? s.status : undefined,
          },
        ];
      });
      const nodes: NodeRecord[] = placed.flatMap((s) =>
        s.registered
          ? [
              {
                instanceId: instanceId(s.n),
                privateIp: ipOfSlot(s),
                registration: s.n,
                memberId: s.role === "outsider" ? undefined : String(1000 + s.n),
                phase: s.typicalPhase ? TYPICAL_PHASE[s.role] : s.phase,
                phaseSince: NOW - s.phaseAgeMs,
                etcdVersion: s.reported,
              },
            ]
          : [],
      );
      const initial = range(1, initialCount === "size" ? size : initialCount).map((n) => ({
        instanceId: instanceId(n),
        peerUrl: `http://${ipOf(n)}:2380`,
      }));
      return {
        policy: { ...policy(size, strategy), learnerReadyTimeoutMs: 600_000 },
        subject:
          subject.event === "reconcile"
            ? { event: "reconcile" }
            : { event: subject.event, instanceId: instanceId(subjectN) },
        instances,
        members: cluster === "none" ? [] : members,
        ledger: {
          cluster:
            cluster === "none"
              ? undefined
              : {
                  token: "t-1",
                  generation: 1,
                  size,
                  initialMembers: initial,
                  state: cluster,
                  etcdVersion: recordedVersion,
                },
          nodes,
          lock:
            lock === "none"
              ? undefined
              : {
                  holder: lock === "mine" ? "me" : "other",
                  expiresAt: lock === "expired" ? NOW - 1 : NOW + 10_000,
                  version: 3,
                },
        },
        now: NOW,
        actor: "me",
        proposedToken: "t-proposed",
      } satisfies Snapshot;
    },
  );

/** The subject's slot: the index-th slot of its pool, or of all slots when the pool is empty. */
function subjectSlot(
  pick: { readonly pool: Pool; readonly index: number },
  slots: readonly { readonly n: number; readonly role: Role }[],
): number {
  const pool = slots.filter((s) => pick.pool === "any" || s.role === pick.pool);
  const from = pool.length > 0 ? pool : slots;
  return from[pick.index % from.length]?.n ?? 1;
}

/**
 * Two launch handlers reading the same ledger: the second launches a registered instance (often
 * another one), lists the group's instances and the ledger's records in another order and has drawn
 * another token. Only the ledger may decide the initial set, so both must compute the same one.
 */
export const sameLedgerPairArb: fc.Arbitrary<readonly [Snapshot, Snapshot]> = fc
  .tuple(snapshotArb, fc.nat(), fc.nat())
  .map(([a, observer, order]) => {
    const nodes = a.ledger.nodes;
    const launching = nodes[observer % Math.max(nodes.length, 1)];
    // 13 is prime and above every registration number, so this is a permutation that varies with `order`.
    const reordered = [...nodes].sort(
      (x, y) => ((x.registration * 7919 + order) % 13) - ((y.registration * 7919 + order) % 13),
    );
    const b: Snapshot = {
      ...a,
      subject: launching === undefined ? a.subject : { event: "launch", instanceId: launching.instanceId },
      instances: [...a.instances].reverse(),
      ledger: { ...a.ledger, nodes: reordered },
      proposedToken: "t-other-observer",
    };
    return [a, b] as const;
  });
