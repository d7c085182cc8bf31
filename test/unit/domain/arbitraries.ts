// fast-check generators of whole snapshots: random groups, member lists, ledgers and subjects,
// biased towards the states where membership mistakes happen (full clusters, dead and stale
// members, learners, locks, reused IPs).
import fc from "fast-check";
import {
  JOIN_STRATEGIES,
  type Member,
  type NodeRecord,
  type Snapshot,
  type Subject,
} from "../../../lambdas/domain/snapshot";
import { instanceId, ipOf, NOW, policy } from "../../helpers/snapshots";

const STATES = [
  "Pending:Wait",
  "Pending",
  "InService",
  "InService",
  "InService",
  "Terminating:Wait",
  "Terminated",
];
const SLOTS = 9;

interface Slot {
  readonly present: boolean;
  readonly state: string;
  readonly hasIp: boolean;
  /** Another instance took this IP (reused). */
  readonly ipFrom: number;
  readonly member: "none" | "voter" | "learner";
  readonly started: boolean;
  readonly healthy: boolean;
  readonly named: boolean;
  readonly registered: boolean;
  readonly phase: NodeRecord["phase"];
  readonly phaseAgeMs: number;
}

const slot: fc.Arbitrary<Slot> = fc.record({
  present: fc.boolean(),
  state: fc.constantFrom(...STATES),
  hasIp: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  ipFrom: fc.oneof(
    { weight: 8, arbitrary: fc.constant(-1) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: SLOTS - 1 }) },
  ),
  member: fc.constantFrom("none", "voter", "voter", "voter", "learner"),
  started: fc.oneof(
    { weight: 5, arbitrary: fc.constant(true) },
    { weight: 1, arbitrary: fc.constant(false) },
  ),
  healthy: fc.oneof(
    { weight: 4, arbitrary: fc.constant(true) },
    { weight: 1, arbitrary: fc.constant(false) },
  ),
  named: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  registered: fc.boolean(),
  phase: fc.constantFrom("registered", "bootstrapping", "joining", "member", "not-a-member", "removed"),
  phaseAgeMs: fc.integer({ min: 0, max: 1_200_000 }),
});

const subject: fc.Arbitrary<Subject> = fc.oneof(
  fc.record({
    event: fc.constantFrom("launch", "terminate", "ready") as fc.Arbitrary<"launch" | "terminate" | "ready">,
    instanceId: fc.integer({ min: 1, max: SLOTS }).map(instanceId),
  }),
  fc.constant({ event: "reconcile" } as const),
);

export const snapshotArb: fc.Arbitrary<Snapshot> = fc
  .record({
    size: fc.constantFrom(3, 5, 7),
    strategy: fc.constantFrom(...JOIN_STRATEGIES),
    slots: fc.array(slot, { minLength: SLOTS, maxLength: SLOTS }),
    cluster: fc.constantFrom("none", "forming", "running", "running", "running"),
    initialCount: fc.integer({ min: 1, max: 7 }),
    lock: fc.constantFrom("none", "mine", "foreign", "expired"),
    subject,
  })
  .map(({ size, strategy, slots, cluster, initialCount, lock, subject }) => {
    const ipOfSlot = (n: number, s: Slot) => ipOf(s.ipFrom >= 0 ? s.ipFrom + 1 : n);
    const instances = slots.flatMap((s, i) =>
      s.present
        ? [
            {
              id: instanceId(i + 1),
              lifecycleState: s.state,
              privateIp: s.hasIp ? ipOfSlot(i + 1, s) : undefined,
              launchTime: NOW - 1000 * (SLOTS - i),
            },
          ]
        : [],
    );
    const members: Member[] = slots.flatMap((s, i) => {
      if (s.member === "none") return [];
      const n = i + 1;
      const started = s.started;
      return [
        {
          id: String(1000 + n),
          name: started && s.named ? instanceId(n) : "",
          peerUrls: [`http://${ipOf(n)}:2380`],
          clientUrls: started ? [`http://${ipOf(n)}:2379`] : [],
          isLearner: s.member === "learner",
          started,
          healthy: started && s.healthy,
        },
      ];
    });
    const nodes: NodeRecord[] = slots.flatMap((s, i) =>
      s.registered
        ? [
            {
              instanceId: instanceId(i + 1),
              privateIp: ipOfSlot(i + 1, s),
              registration: i + 1,
              memberId: s.member === "none" ? undefined : String(1001 + i),
              phase: s.phase,
              phaseSince: NOW - s.phaseAgeMs,
            },
          ]
        : [],
    );
    const initial = Array.from({ length: initialCount }, (_, i) => ({
      instanceId: instanceId(i + 1),
      peerUrl: `http://${ipOf(i + 1)}:2380`,
    }));
    return {
      policy: { ...policy(size, strategy), learnerReadyTimeoutMs: 600_000 },
      subject,
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
                state: cluster as "forming" | "running",
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
  });
