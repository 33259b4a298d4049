/**
 * Read, mutate, write with the read's resourceVersion; on 409 Conflict read again and
 * retry, a bounded number of times with jittered backoff. Any other error is thrown as is.
 */
import { Backoff, sleep, type BackoffOptions } from "./backoff.ts";
import { ConflictRetriesExhaustedError, isConflict } from "./errors.ts";

export interface OptimisticUpdate<T> {
  /** Names the object in the error when retries run out. */
  what: string;
  get: () => Promise<T>;
  /**
   * A copy read moments ago, used for the first attempt instead of a read. A stale one costs
   * a 409 and a fresh read, never a lost change.
   */
  first?: T;
  /** Returns the object to write, or undefined when nothing needs to change. */
  mutate: (current: T) => T | undefined;
  write: (next: T) => Promise<T>;
  maxAttempts?: number;
  backoff?: BackoffOptions;
  /** Called on each conflict, for metrics. */
  onConflict?: (attempt: number) => void;
}

export async function updateWithRetry<T>(u: OptimisticUpdate<T>): Promise<T> {
  const attempts = u.maxAttempts ?? 5;
  const backoff = new Backoff({ initialMs: 10, factor: 1.5, maxMs: 1000, ...u.backoff });
  let last: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const current = attempt === 1 && u.first !== undefined ? u.first : await u.get();
    const next = u.mutate(current);
    if (next === undefined) return current;
    try {
      return await u.write(next);
    } catch (err) {
      if (!isConflict(err)) throw err;
      last = err;
      u.onConflict?.(attempt);
      if (attempt < attempts) await sleep(backoff.next());
    }
  }
  throw new ConflictRetriesExhaustedError(u.what, attempts, last);
}
