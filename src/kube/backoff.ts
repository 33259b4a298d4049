/** Exponential backoff with full jitter, bounded; shared by retries and informers. */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** Fraction of the delay that is randomised (0..1). */
  jitter?: number;
}

export class Backoff {
  readonly #initial: number;
  readonly #max: number;
  readonly #factor: number;
  readonly #jitter: number;
  #current: number;

  constructor(opts: BackoffOptions = {}) {
    this.#initial = opts.initialMs ?? 100;
    this.#max = opts.maxMs ?? 30_000;
    this.#factor = opts.factor ?? 2;
    this.#jitter = opts.jitter ?? 0.5;
    this.#current = this.#initial;
  }

  /** The next delay, then grows the base for the one after. */
  next(random: () => number = Math.random): number {
    const base = this.#current;
    this.#current = Math.min(this.#max, this.#current * this.#factor);
    return Math.round(base * (1 - this.#jitter) + base * this.#jitter * random());
  }

  reset(): void {
    this.#current = this.#initial;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
