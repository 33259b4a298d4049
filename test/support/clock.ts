// A clock that moves only when told to (src/kube/clock.ts): `sleep` moves it by the time
// slept, and `advance` fires the timers that fall due, in order, so time-driven behaviour
// (GC wakes, memo lifetimes, poll waits) is tested without waiting.
import type { Clock, Timer } from "../../src/kube/clock.ts";

interface Pending {
  at: number;
  every: number | undefined;
  fn: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  t = Date.parse("2026-01-01T00:00:00Z");
  readonly slept: number[] = [];
  #timers: Pending[] = [];

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    this.slept.push(ms);
    this.t += ms;
    return Promise.resolve();
  }

  after(ms: number, fn: () => void): Timer {
    return this.#add({ at: this.t + ms, every: undefined, fn, cancelled: false });
  }

  every(ms: number, fn: () => void): Timer {
    return this.#add({ at: this.t + ms, every: ms, fn, cancelled: false });
  }

  #add(p: Pending): Timer {
    this.#timers.push(p);
    return { cancel: () => void (p.cancelled = true) };
  }

  /** Timers not cancelled nor fired. */
  get pending(): number {
    return this.#timers.filter((p) => !p.cancelled).length;
  }

  /** Moves time by `ms`, firing each timer due on the way at its time. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.#timers.filter((p) => !p.cancelled && p.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.t = Math.max(this.t, due.at);
      if (due.every !== undefined) due.at += due.every;
      else due.cancelled = true;
      due.fn();
    }
    this.#timers = this.#timers.filter((p) => !p.cancelled);
    this.t = end;
  }
}
