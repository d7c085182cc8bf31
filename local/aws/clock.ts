// The emulator's sense of time: "now" for launch times and event timestamps, and timers for
// lifecycle hook timeouts. Injectable so a simulator can skew time; real timers by default.

export interface Clock {
  now(): number;
  setTimer(callback: () => void, delayMs: number): NodeJS.Timeout;
  clearTimer(timer: NodeJS.Timeout): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimer: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimer: (timer) => clearTimeout(timer),
};
