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
