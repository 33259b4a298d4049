// Tests wait for a condition, never a fixed sleep: this is the one poll loop they share.
import { setTimeout as sleep } from "node:timers/promises";

export interface UntilOptions {
  /** Fails after this long; 5 s unless told. */
  timeoutMs?: number;
  /** Pause between checks; 10 ms unless told. */
  intervalMs?: number;
  /** Appended to the failure message after "; " — read only on failure, so it shows the state at the time. */
  detail?: () => string;
}

/** Resolves once `cond` holds; otherwise fails with "timed out waiting for <what>". */
export async function until(cond: () => Promise<boolean> | boolean, what: string, o: UntilOptions = {}): Promise<void> {
  const deadline = Date.now() + (o.timeoutMs ?? 5000);
  while (!(await cond())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${o.detail === undefined ? "" : `; ${o.detail()}`}`);
    }
    await sleep(o.intervalMs ?? 10);
  }
}

/**
 * Resolves with `attempt`'s result once it stops throwing; otherwise fails with "timed out
 * waiting for <what>" and the last error.
 */
export async function untilOk<T>(attempt: () => Promise<T>, what: string, o: UntilOptions = {}): Promise<T> {
  let last: unknown;
  let out: { value: T } | undefined;
  await until(
    async () => {
      try {
        out = { value: await attempt() };
        return true;
      } catch (err) {
        last = err;
        return false;
      }
    },
    what,
    { ...o, detail: () => [String(last), o.detail?.()].filter((d) => d !== undefined).join("; ") },
  );
  return (out as { value: T }).value;
}
