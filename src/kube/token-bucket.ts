/**
 * A token bucket on the injected clock: `burst` tokens, refilled at `perSecond`. What spends
 * a token may go; what finds none is dropped (and counted by the caller), never queued.
 */
import type { Clock } from "./clock.ts";

export class TokenBucket {
  readonly #clock: Pick<Clock, "now">;
  readonly #burst: number;
  readonly #perMs: number;
  #tokens: number;
  #at: number;

  constructor(clock: Pick<Clock, "now">, burst: number, perSecond: number) {
    this.#clock = clock;
    this.#burst = burst;
    this.#perMs = perSecond / 1000;
    this.#tokens = burst;
    this.#at = clock.now();
  }

  take(): boolean {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#perMs);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
