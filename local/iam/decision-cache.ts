// IAM decisions remembered per policy set: an evaluation is a pure function of the request and the
// policies, so one already made is given again. The key holds the caller, action, resource, the
// policy texts themselves (a deploy that changes a policy makes new keys) and only the context keys
// some policy names: a key no policy mentions (the request's time, for one) cannot change the
// decision, and keeping it would make every key new.
import type { Simulation } from "@cloud-copilot/iam-simulate";

/** Decisions kept per policy set before its cache starts over (each is a few hundred bytes). */
const MAX_ENTRIES = 5000;

const caches = new WeakMap<object, Map<string, unknown>>();

/** The decision `evaluate` makes on `simulation` under `policySet`, made once. */
export async function rememberedDecision<T>(
  policySet: object,
  simulation: Simulation,
  evaluate: () => Promise<T>,
): Promise<T> {
  let cache = caches.get(policySet);
  if (cache === undefined) {
    cache = new Map();
    caches.set(policySet, cache);
  }
  const key = decisionKey(simulation);
  if (cache.has(key)) return cache.get(key) as T;
  const decision = await evaluate();
  if (cache.size >= MAX_ENTRIES) cache.clear();
  cache.set(key, decision);
  return decision;
}

function decisionKey(simulation: Simulation): string {
  const { request, identityPolicies, resourcePolicy } = simulation;
  const policies = JSON.stringify([identityPolicies, resourcePolicy ?? null]);
  const text = policies.toLowerCase();
  const context = Object.entries(request.contextVariables)
    .filter(([key]) => text.includes(key.toLowerCase()))
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([request.principal, request.action, request.resource, policies, context]);
}
