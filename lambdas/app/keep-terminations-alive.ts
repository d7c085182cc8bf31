// The reconcile pass's first step: a heartbeat on every terminating instance's lifecycle action.
// The pass may then wait for the membership lock twice (for its own change, then for each
// termination's) before it reaches them, and a lock whose holder could not release it (the ledger
// was down at that moment) holds for its whole lease. Without this, such an action could time out
// into its DefaultResult (CONTINUE) with its instance still a voter, past the quorum check (chaos
// seed 16025). A heartbeat only restarts the action's timeout; the termination is still decided
// below, under the lock. Never throws: a failure is logged and the pass goes on (the recovery step
// after it must run whatever AWS answers here). Returns once the heartbeats are asked, not answered
// (they go on while the pass reads the ledger: one round trip fewer), with `answered`, which the
// pass awaits after its first decision, before any termination, and the group as read, for the
// pass's first snapshot when nothing has run in between (undefined when it could not be read).
import type { Instance } from "../domain/snapshot";
import type { Runtime } from "./ports";

export interface TerminationsKeptAlive {
  readonly group: Instance[] | undefined;
  /** Settles when every heartbeat has been answered (or its failure logged); never rejects. */
  readonly answered: Promise<unknown>;
}

export async function keepTerminationsAlive(rt: Runtime): Promise<TerminationsKeptAlive> {
  let instances: Instance[];
  try {
    instances = await rt.group.instances();
  } catch (error) {
    rt.logger.warn("cannot read the group to keep terminations alive", { error });
    return { group: undefined, answered: Promise.resolve() };
  }
  const terminating = instances.filter((i) => i.lifecycleState === "Terminating:Wait");
  const answered = Promise.all(
    terminating.map((instance) =>
      rt.group
        .heartbeat({ hookName: rt.config.terminateHookName, instanceId: instance.id })
        .catch((error: unknown) =>
          rt.logger.warn("heartbeat on a terminating instance failed", { instanceId: instance.id, error }),
        ),
    ),
  );
  return { group: instances, answered };
}
