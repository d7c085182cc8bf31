// What the reconciler is invoked with: the reconcile schedule's "Scheduled Event", an operator's
// on-demand event (anything), or the maintenance schedule's constant input, which makes the pass's
// upkeep defragment members with space worth reclaiming as well as recover from NOSPACE.

/** The maintenance schedule's target input (EventBridge replaces the event with it). */
export const SCHEDULED_DEFRAGMENTATION_INPUT = { "etcd-asg": "scheduled-defragmentation" } as const;

/** "schedule" for the maintenance schedule's input; "reconcile" for any other event. */
export function upkeepTrigger(event: unknown): "schedule" | "reconcile" {
  if (typeof event !== "object" || event === null) return "reconcile";
  const marker = (event as { readonly "etcd-asg"?: unknown })["etcd-asg"];
  return marker === SCHEDULED_DEFRAGMENTATION_INPUT["etcd-asg"] ? "schedule" : "reconcile";
}
