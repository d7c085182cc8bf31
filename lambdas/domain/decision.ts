// What the membership engine answers: exactly one step, with the reason an operator reads in the
// logs. A handler applies the step, re-reads, and asks again until the answer is not a change.
import type { VersionRefusal } from "./etcd-version";
import type { InitialMember, Member } from "./snapshot";

export type Decision =
  /** Fix (or re-publish) the initial member set; its members start with `--initial-cluster-state new`. */
  | {
      readonly kind: "bootstrap";
      readonly initialMembers: readonly InitialMember[];
      readonly token: string;
      readonly reason: string;
    }
  /** Add the node as a learner, after removing `removeFirst` when set. */
  | {
      readonly kind: "join";
      readonly removeFirst: Member | undefined;
      readonly add: { readonly name: string; readonly peerUrl: string };
      readonly reason: string;
    }
  /** Promote this learner (the etcd adapter checks that it is in sync). */
  | { readonly kind: "promote"; readonly member: Member; readonly reason: string }
  /** Remove this member. `abandon` names the instance whose launch action must be ABANDONed. */
  | {
      readonly kind: "remove";
      readonly member: Member;
      readonly abandon: string | undefined;
      readonly reason: string;
    }
  /** Nothing may change now; ask again later (the lifecycle action stays held). */
  | { readonly kind: "wait"; readonly reason: string }
  /** The request is unsafe or impossible; nothing changes and retrying will not help by itself. */
  | { readonly kind: "refuse"; readonly reason: string }
  /** The node is not, and will not become, an etcd member (the cluster is full). */
  | { readonly kind: "not-a-member"; readonly reason: string }
  /**
   * The node runs an etcd version the cluster must not take (a skipped minor, a downgrade, another
   * major...): it is told why, does not start etcd, and its launch is abandoned.
   */
  | {
      readonly kind: "version-refused";
      readonly refusal: VersionRefusal;
      readonly reason: string;
    }
  /** Membership already matches what the subject needs; complete its lifecycle action. */
  | { readonly kind: "settled"; readonly reason: string };

export type DecisionKind = Decision["kind"];

/** The decisions that change etcd's member list or fix the initial cluster. */
export function changesMembership(decision: Decision): boolean {
  return (
    decision.kind === "bootstrap" ||
    decision.kind === "join" ||
    decision.kind === "promote" ||
    decision.kind === "remove"
  );
}
