// Runs the control-plane test bed (AWS emulator, dynalite, real etcd) outside node:test, for the fuzz
// CLI. The bed registers its clean-up with the test context's `after` and reads `passed` when it
// stops (false prints the etcd logs); that is all it takes from a context, so a small scope that
// collects clean-ups stands in for one.
import { type BedOptions, ControlPlaneBed } from "../../test/helpers/control-plane";

export interface StandaloneBed {
  readonly bed: ControlPlaneBed;
  /** Stops every server and process the bed started; later calls wait for the first. */
  stop(outcome: { readonly passed: boolean }): Promise<void>;
}

class CleanupScope {
  passed = true;
  private readonly cleanups: Array<() => unknown> = [];
  private stopping: Promise<void> | undefined;

  after(fn: () => unknown): void {
    this.cleanups.push(fn);
  }

  stop(passed: boolean): Promise<void> {
    this.stopping ??= (async () => {
      this.passed = passed;
      for (const fn of this.cleanups.reverse()) await fn();
    })();
    return this.stopping;
  }
}

export async function startStandaloneBed(options: BedOptions = {}): Promise<StandaloneBed> {
  const scope = new CleanupScope();
  const bed = await ControlPlaneBed.start(scope, options);
  return { bed, stop: ({ passed }) => scope.stop(passed) };
}
