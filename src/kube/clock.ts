/**
 * Time, where it decides behaviour (memo lifetimes, waits between polls, the GC's due
 * times): injected, so tests move it instead of sleeping.
 */
import { sleep } from "./backoff.ts";

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => sleep(ms),
};
