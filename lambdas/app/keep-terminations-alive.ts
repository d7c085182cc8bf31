// The reconcile pass's first step: a heartbeat on every terminating instance's lifecycle action.
// The pass may then wait for the membership lock twice (for its own change, then for each
// termination's) before it reaches them, and a lock whose holder could not release it (the ledger
// was down at that moment) holds for its whole lease. Without this, such an action could time out
// into its DefaultResult (CONTINUE) with its instance still a voter, past the quorum check (chaos
// seed 16025). A heartbeat only restarts the action's timeout; the termination is still decided
// below, under the lock. Never fails: a failure is logged and the pass goes on (the recovery step
// after it must run whatever AWS answers here). Returns at once: the group's reading (for the
// pass's first snapshot when nothing runs in between; undefined when it could not be read), and
// `answered`, which the pass awaits after its first decision, before any termination. The heartbeats
// go out as soon as the group is read, and on while the pass reads the ledger.
import type { Instance } from "../domain/snapshot";
import type { Runtime } from "./ports";

export interface TerminationsKeptAlive {
  /** The group as read; undefined when it could not be read (logged). Never rejects. */
  readonly group: Promise<Instance[] | undefined>;
  /** Settles when every heartbeat has been answered (or its failure logged); never rejects. */
  readonly answered: Promise<unknown>;
}

export function keepTerminationsAlive(rt: Runtime): TerminationsKeptAlive {
  const group = rt.group.instances().catch((error: unknown) => {
    rt.logger.warn("cannot read the group to keep terminations alive", { error });
    return undefined;
  });
  const answered = group.then((instances) =>
    Promise.all(
      (instances ?? [])
        .filter((i) => i.lifecycleState === "Terminating:Wait")
        .map((instance) =>
          rt.group
            .heartbeat({ hookName: rt.config.terminateHookName, instanceId: instance.id })
            .catch((error: unknown) =>
              rt.logger.warn("heartbeat on a terminating instance failed", {
                instanceId: instance.id,
                error,
              }),
            ),
        ),
    ),
  );
  return { group, answered };
}
