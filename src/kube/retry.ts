/**
 * Transient API failures retried per operation: a 429, 500, 503 or 504 answer, or no answer
 * (connection refused or reset, a timeout), is tried again with bounded, jittered backoff
 * (Retry-After honoured up to the cap); anything else, and a conflict (which the caller
 * replans), is thrown at once. When the budget is spent the last failure is thrown wrapped,
 * so the CNI boundary answers "try again later" (11) rather than failing for good.
 */
import { SpiderpoolError } from "../errors/base.ts";
import { Backoff } from "./backoff.ts";
import { systemClock, type Clock } from "./clock.ts";
import { ApiError, TransportError } from "./errors.ts";

export class ApiRetriesExhaustedError extends SpiderpoolError {
  readonly code = "ERR_API_RETRIES_EXHAUSTED";
  readonly attempts: number;
  constructor(what: string, attempts: number, cause: unknown) {
    super(`${what}: ${(cause as Error)?.message ?? String(cause)} (gave up after ${attempts} attempts)`, { cause });
    this.attempts = attempts;
  }
}

export interface RetryBudget {
  /** Attempts in all, the first included. */
  attempts: number;
  initialMs: number;
  maxMs: number;
  clock?: Pick<Clock, "sleep">;
  random?: () => number;
  /** Called before each retry, for metrics and logs. */
  onRetry?: (err: unknown, attempt: number) => void;
}

/** About two seconds in all: short of the runtime's CNI timeout, long enough for a restart of one replica. */
export const DEFAULT_RETRY: RetryBudget = { attempts: 5, initialMs: 50, maxMs: 1000 };

const TRANSIENT_STATUS = new Set([429, 500, 503, 504]);

/** True for failures a later attempt of the same request may not meet. */
export function isTransientApiError(err: unknown): boolean {
  if (err instanceof ApiError) return TRANSIENT_STATUS.has(err.status);
  // A request the caller aborted (a stop) is not retried.
  if (err instanceof TransportError) return (err.cause as Error | undefined)?.name !== "AbortError";
  return false;
}

export async function retryTransient<T>(
  what: string,
  op: () => Promise<T>,
  budget: RetryBudget = DEFAULT_RETRY,
): Promise<T> {
  const clock = budget.clock ?? systemClock;
  const backoff = new Backoff({ initialMs: budget.initialMs, maxMs: budget.maxMs, factor: 2, jitter: 0.5 });
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (!isTransientApiError(err)) throw err;
      if (attempt >= budget.attempts) throw new ApiRetriesExhaustedError(what, attempt, err);
      budget.onRetry?.(err, attempt);
      const after = err instanceof ApiError ? (err.retryAfterSeconds ?? 0) * 1000 : 0;
      await clock.sleep(Math.min(budget.maxMs, Math.max(after, backoff.next(budget.random))));
    }
  }
}
