// The client that writes keys with quorum throughout a chaos run: one put at a time, each to the
// running members in turn (a frozen member costs one call deadline, not the run). It remembers the
// acknowledged writes (each must be readable at the end) and the longest stretch with no write
// acknowledged, which is how a lost quorum shows from outside.
import { setTimeout as sleep } from "node:timers/promises";
import { putKey } from "../local/simulator/etcd-client";
import type { Simulator } from "../local/simulator/simulator";

export interface Outage {
  readonly fromMs: number;
  readonly toMs: number;
}

export class QuorumWriter {
  /** Acknowledged writes: key → value. */
  readonly acknowledged = new Map<string, string>();
  attempts = 0;
  private running: Promise<void> | undefined;
  private stopped = false;
  private lastAckAt = Date.now();
  private longest: Outage = { fromMs: 0, toMs: 0 };

  constructor(
    private readonly sim: Simulator,
    readonly prefix: string,
    private readonly pauseMs = 250,
  ) {}

  start(): void {
    this.lastAckAt = Date.now();
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  /** The longest stretch without an acknowledged write so far (epoch ms), the current one included. */
  longestOutage(): Outage {
    const current = { fromMs: this.lastAckAt, toMs: Date.now() };
    return length(current) > length(this.longest) ? current : this.longest;
  }

  private async loop(): Promise<void> {
    let turn = 0;
    while (!this.stopped) {
      const urls = this.sim.clientUrls();
      const rotated = [
        ...urls.slice(turn % Math.max(urls.length, 1)),
        ...urls.slice(0, turn % Math.max(urls.length, 1)),
      ];
      turn += 1;
      const key = `${this.prefix}/${String(this.attempts).padStart(6, "0")}`;
      const value = `${this.attempts}@${Date.now()}`;
      this.attempts += 1;
      try {
        await putKey(rotated, await this.sim.etcdTls(), key, value);
        this.acknowledged.set(key, value);
        const now = Date.now();
        const gap = { fromMs: this.lastAckAt, toMs: now };
        if (length(gap) > length(this.longest)) this.longest = gap;
        this.lastAckAt = now;
      } catch {
        // Not acknowledged: it may or may not have been applied, so it is not checked at the end.
      }
      await sleep(this.pauseMs);
    }
  }
}

function length(outage: Outage): number {
  return outage.toMs - outage.fromMs;
}
