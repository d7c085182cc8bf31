// Counts the membership changes the control plane made in a run, by kind (bootstrap, join, promote,
// remove), from the functions' own logs: change-membership.ts logs "applied" once per change it
// made, whichever function (launch, terminate, reconciler, node API) made it.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export function membershipChanges(simulatorRoot: string): Record<string, number> {
  const dir = join(simulatorRoot, "lambda-logs");
  const counts: Record<string, number> = {};
  if (!existsSync(dir)) return counts;
  for (const file of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, file), "utf8").split("\n")) {
      if (!line.includes('"applied"')) continue;
      for (const kind of appliedKinds(line)) counts[kind] = (counts[kind] ?? 0) + 1;
    }
  }
  return counts;
}

/** A join that first removes a dead or stale member is two changes: a remove and a join. */
function appliedKinds(line: string): string[] {
  try {
    const entry = JSON.parse(line) as {
      message?: unknown;
      decision?: { kind?: unknown; removeFirst?: unknown };
    };
    const kind = entry.decision?.kind;
    if (entry.message !== "applied" || typeof kind !== "string") return [];
    return entry.decision?.removeFirst === undefined ? [kind] : ["remove", kind];
  } catch {
    return []; // not a log entry (a stack trace, a runtime warning)
  }
}
