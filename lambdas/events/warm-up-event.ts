// What the launch rule's second target sends the node API: a constant input (EventBridge replaces the
// lifecycle event with it) that says a node is launching, so the node API loads what a node's first
// requests need while the instance boots.

/** The launch rule's input to the node API. */
export const NODE_API_WARM_UP_INPUT = { "etcd-asg": "warm-up" } as const;

/** Whether `event` is that input rather than a function URL request. */
export function isWarmUp(event: unknown): boolean {
  if (typeof event !== "object" || event === null) return false;
  return (event as { readonly "etcd-asg"?: unknown })["etcd-asg"] === NODE_API_WARM_UP_INPUT["etcd-asg"];
}
