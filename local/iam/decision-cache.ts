// IAM decisions remembered per policy set: an evaluation is a pure function of the request and the
// policies, so one already made is given again. The key holds the caller, action, resource, the
// policy texts themselves (a deploy that changes a policy makes new keys) and only the context keys
// some policy names: a key no policy mentions (the request's time, for one) cannot change the
// decision, and keeping it would make every key new.
import type { Simulation } from "@cloud-copilot/iam-simulate";

/** Decisions kept per policy set before the cache starts over (each is a few hundred bytes). */
const MAX_ENTRIES = 5000;

export class DecisionCache<T> {
  private readonly entries = new Map<string, T>();

  get(key: string): T | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: T): void {
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, value);
  }
}

export function decisionKey(simulation: Simulation): string {
  const { request, identityPolicies, resourcePolicy } = simulation;
  const policies = JSON.stringify([identityPolicies, resourcePolicy ?? null]);
  const text = policies.toLowerCase();
  const context = Object.entries(request.contextVariables)
    .filter(([key]) => text.includes(key.toLowerCase()))
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([request.principal, request.action, request.resource, policies, context]);
}
