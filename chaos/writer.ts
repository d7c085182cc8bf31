// The client that writes keys with quorum throughout a chaos run: one put at a time, each to the
// running members in turn (a frozen member costs one call deadline, not the run). It remembers the
// acknowledged writes with the revision etcd gave each (each must be readable at the end) and the
// longest stretch with no write acknowledged, which is how a lost quorum shows from outside.
// A majority-lost episode marks its loss: the writes acknowledged by then (and the one under way
// then, once acknowledged) above the last snapshot's revision are at risk (recovery restores the
// newest data that exists, which may hold them or not), and the stretch from the loss until the
// cluster serves again is no lost quorum of the system's making.
import { setTimeout as sleep } from "node:timers/promises";
import { describeFailure, putKey } from "../local/simulator/etcd-client";
import type { EtcdTls } from "../local/simulator/operator-identity";
import type { Simulator } from "../local/simulator/simulator";

/** Puts `key` with quorum on one of `urls`; resolves to the write's revision. */
export type PutWrite = (urls: readonly string[], tls: EtcdTls, key: string, value: string) => Promise<number>;

export interface Outage {
  readonly fromMs: number;
  readonly toMs: number;
}

/** Gaps between acknowledged writes shorter than this are not kept. */
const KEPT_GAP_MS = 1000;

export class QuorumWriter {
  /** Acknowledged writes: key → value. */
  readonly acknowledged = new Map<string, string>();
  /** Acknowledged writes: key → the revision of the write. */
  readonly revisions = new Map<string, number>();
  /** Acknowledged writes up to the last snapshot before a majority was lost for good: each must survive. */
  readonly preSnapshot = new Set<string>();
  /** Acknowledged writes above that snapshot and before the loss: recovery may lose them. */
  readonly atRisk = new Set<string>();
  attempts = 0;
  /** Why the latest write that was not acknowledged failed: what a stretch without writes met. */
  lastFailure: string | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** When stop() was called: the writer asks nothing after it, so no stretch runs past it. */
  private stoppedAt: number | undefined;
  private lastAckAt = Date.now();
  private readonly gaps: Outage[] = [];
  private readonly excused: Outage[] = [];
  /** The key of the put under way, if one is. */
  private inFlight: string | undefined;
  /** A put under way when a majority was lost, judged by its revision once acknowledged. */
  private lateAtLoss: { readonly key: string; readonly snapshotRevision: number } | undefined;

  constructor(
    private readonly sim: Simulator,
    readonly prefix: string,
    private readonly pauseMs = 250,
    /** How a key is written: putKey (a test drives the timing of an answer through it). */
    private readonly put: PutWrite = putKey,
  ) {}

  start(): void {
    this.lastAckAt = Date.now();
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stoppedAt ??= Date.now();
    await this.running;
  }

  /** A majority was lost for good after the snapshot at `snapshotRevision`: the writes acknowledged so
   * far up to it must survive, those above it are at risk. Called once no majority is left to
   * acknowledge more; returns how many are at risk from this loss. */
  markLoss(snapshotRevision: number): number {
    let marked = 0;
    for (const [key, revision] of this.revisions) {
      if (this.atRisk.has(key) || this.preSnapshot.has(key)) continue;
      if (revision <= snapshotRevision) this.preSnapshot.add(key);
      else {
        this.atRisk.add(key);
        marked += 1;
      }
    }
    // A put under way may be acknowledged after this: etcd took it before the loss and its answer
    // comes later (a loaded machine). It is judged by its revision then (seed 15389).
    if (this.inFlight !== undefined) this.lateAtLoss = { key: this.inFlight, snapshotRevision };
    return marked;
  }

  /** No write could be acknowledged from `fromMs` to `toMs` (a majority lost for good until recovery). */
  excuse(window: Outage): void {
    this.excused.push(window);
  }

  /** The longest stretch without an acknowledged write so far (epoch ms), the current one included
   * up to now or the writer's stop (the harness settling the cluster after it is not an outage: a
   * 30 s post-episode convergence counted as one once), less what of it an excused window covers. */
  longestOutage(): Outage & { readonly excusedMs: number } {
    const current = { fromMs: this.lastAckAt, toMs: Math.max(this.lastAckAt, this.stoppedAt ?? Date.now()) };
    let longest = { ...current, excusedMs: 0 };
    for (const gap of [...this.gaps, current]) {
      const excusedMs = this.excused.reduce((n, window) => n + overlap(gap, window), 0);
      if (length(gap) - excusedMs > length(longest) - longest.excusedMs) longest = { ...gap, excusedMs };
    }
    return longest;
  }

  private judgeLate(key: string, revision: number): void {
    const late = this.lateAtLoss;
    if (late?.key !== key) return;
    this.lateAtLoss = undefined;
    if (revision <= late.snapshotRevision) this.preSnapshot.add(key);
    else this.atRisk.add(key);
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
      this.inFlight = key;
      try {
        const revision = await this.put(rotated, await this.sim.etcdTls(), key, value);
        this.acknowledged.set(key, value);
        this.revisions.set(key, revision);
        this.judgeLate(key, revision);
        const now = Date.now();
        const gap = { fromMs: this.lastAckAt, toMs: now };
        if (length(gap) >= KEPT_GAP_MS) this.gaps.push(gap);
        this.lastAckAt = now;
      } catch (error) {
        // Not acknowledged: it may or may not have been applied, so it is not checked at the end.
        this.lastFailure = describeFailure(error);
      } finally {
        this.inFlight = undefined;
      }
      await sleep(this.pauseMs);
    }
  }
}

/** The error and its cause (which member refused, and how), on one line. */
function length(outage: Outage): number {
  return outage.toMs - outage.fromMs;
}

function overlap(a: Outage, b: Outage): number {
  return Math.max(0, Math.min(a.toMs, b.toMs) - Math.max(a.fromMs, b.fromMs));
}
