/**
 * Time, where it decides behaviour (memo lifetimes, waits between polls, the GC's due
 * times and its timers): injected, so tests move it instead of sleeping.
 */
import { sleep } from "./backoff.ts";

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Runs `fn` once after `ms`; does not keep the process alive. */
  after(ms: number, fn: () => void): Timer;
  /** Runs `fn` every `ms`. */
  every(ms: number, fn: () => void): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => sleep(ms),
  after: (ms, fn) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  every: (ms, fn) => {
    const t = setInterval(fn, ms);
    return { cancel: () => clearInterval(t) };
  },
};
