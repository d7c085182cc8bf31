// EventBridge in front of the lifecycle-hook functions: each lifecycle event goes to the function
// its rule targets, asynchronously, at least once. A function error is retried twice with growing
// delays, as Lambda's asynchronous invocation does (retryAttempts: 2); after that the event is
// dropped (in AWS it goes to the dead-letter queue). A test can inject what EventBridge and async
// invocation may do on their own: drop an event, deliver it more than once, or delay it (which
// reorders it against the events after it).
import type { LifecycleEvent } from "../aws/types";
import { FunctionError, type LambdaFunction } from "./lambda-function";

/** What happens to one event: delivered after `delayMs`, `copies` times, or not at all. */
export interface DeliveryPlan {
  readonly drop?: boolean;
  /** @default 1 */
  readonly copies?: number;
  /** @default 0 */
  readonly delayMs?: number;
}

export type DeliveryFaults = (event: LifecycleEvent) => DeliveryPlan | undefined;

export interface DeliveryRecord {
  readonly event: LifecycleEvent;
  readonly outcome: "delivered" | "dropped" | "failed";
  /** The handler's result on success, the last error otherwise. */
  readonly detail: unknown;
}

export interface EventDeliveryOptions {
  readonly launch: LambdaFunction;
  readonly terminate: LambdaFunction;
  /** Delays before the two retries (Lambda waits about 1 and 2 minutes). @default [1000, 2000] */
  readonly retryDelaysMs?: readonly [number, number];
  readonly onRecord?: (record: DeliveryRecord) => void;
}

export class EventDelivery {
  private faults: DeliveryFaults | undefined;
  private inFlight = 0;
  readonly records: DeliveryRecord[] = [];

  constructor(private readonly options: EventDeliveryOptions) {}

  /** Sets (or clears, with undefined) the fault plan applied to every event from now on. */
  injectFaults(faults: DeliveryFaults | undefined): void {
    this.faults = faults;
  }

  /** Events accepted but not yet handled (delays and retries included). */
  get pending(): number {
    return this.inFlight;
  }

  deliver(event: LifecycleEvent): void {
    const plan = this.faults?.(event) ?? {};
    if (plan.drop) {
      this.record({ event, outcome: "dropped", detail: "dropped by the injected fault plan" });
      return;
    }
    const target =
      event["detail-type"] === "EC2 Instance-launch Lifecycle Action"
        ? this.options.launch
        : this.options.terminate;
    for (let copy = 0; copy < (plan.copies ?? 1); copy++) {
      this.inFlight += 1;
      setTimeout(() => {
        void this.invokeWithRetries(target, event).finally(() => {
          this.inFlight -= 1;
        });
      }, plan.delayMs ?? 0);
    }
  }

  private async invokeWithRetries(target: LambdaFunction, event: LifecycleEvent): Promise<void> {
    const delays = this.options.retryDelaysMs ?? [1000, 2000];
    let lastError: unknown;
    for (let attempt = 0; attempt <= delays.length; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, delays[attempt - 1]));
      try {
        const result = await target.invoke(event);
        this.record({ event, outcome: "delivered", detail: result });
        return;
      } catch (error) {
        if (!(error instanceof FunctionError)) throw error;
        lastError = error;
        if (error.errorType === "Stopped") return;
      }
    }
    this.record({ event, outcome: "failed", detail: lastError });
  }

  private record(record: DeliveryRecord): void {
    this.records.push(record);
    this.options.onRecord?.(record);
  }
}
