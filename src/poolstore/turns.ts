/**
 * Whose turn it is to write a busy pool, decided by each writer alone from what it sees:
 * the pace of the pool's versions and how long its own batches waited when they won.
 *
 * Every status write of a pool is a race for the next version; a writer learns it lost only
 * from the 409, after it has read, planned and sent the whole status. With a hundred agents
 * on one pool, every one racing every version, a version cost twenty reads and twenty
 * writes, and the winner was whoever happened to be scheduled first, so a batch's wait was
 * a lottery: at the pace the pool allows, one in five calls outlived its deadline
 * (docs/performance.md, issue 16). Here a batch younger than a share of the age at which
 * this writer's batches win lets a version go by, so the oldest batches race and the young
 * ones cost nothing; and since a young batch waits only while versions keep coming, a pool
 * that nobody else writes is never left idle longer than a few of its own gaps.
 */

export interface TurnsOptions {
  /** A batch races once its age reaches this share of the learned age at a win. */
  seniority: number;
  /** Weight of the newest sample in the learned averages. */
  weight: number;
  /** The pool counts as idle after this many average gaps with no new version… */
  idleGaps: number;
  /** …and never sooner than this (ms)… */
  idleFloorMs: number;
  /** …nor later (ms), so a writer that lost the pace races after this at most. */
  idleCeilingMs: number;
}

export const DEFAULT_TURNS: TurnsOptions = {
  seniority: 0.7,
  weight: 0.3,
  idleGaps: 4,
  idleFloorMs: 5,
  idleCeilingMs: 250,
};

export type TurnDecision = { race: true } | { race: false; waitMs: number };

export class Turns {
  readonly #o: TurnsOptions;
  /** Average age of this writer's batches when they won (ms); undefined before the first win. */
  #winAge: number | undefined;
  /** Average gap between the pool's versions (ms); undefined before two were seen. */
  #gap: number | undefined;
  #lastVersionAt: number | undefined;
  #lastVersion = Number.NaN;

  constructor(options: Partial<TurnsOptions> = {}) {
    this.#o = { ...DEFAULT_TURNS, ...options };
  }

  /** A version of the pool was seen (from the watch or as the answer to our own write). */
  version(rv: number, now: number): void {
    if (!(rv > this.#lastVersion) && !Number.isNaN(this.#lastVersion)) return;
    if (this.#lastVersionAt !== undefined) {
      const g = Math.max(0, now - this.#lastVersionAt);
      this.#gap = this.#gap === undefined ? g : this.#gap + this.#o.weight * (g - this.#gap);
    }
    this.#lastVersion = rv;
    this.#lastVersionAt = now;
  }

  /**
   * One of our batches won a write at this age (ms). The average is not forgotten with time:
   * a forgetting that halved it per learned age gone by without a win made every batch of a
   * storm senior within a turn, and the storm a lottery again (724 of 6 662 calls failed; ADR
   * 14). It falls by the weight at each win that came quickly, as wins do once a storm is over.
   */
  won(ageMs: number): void {
    const w = this.#winAge;
    this.#winAge = w === undefined ? ageMs : w + this.#o.weight * (ageMs - w);
  }

  /** How long with no new version before the pool counts as idle (ms). */
  get idleMs(): number {
    const o = this.#o;
    const byGap = this.#gap === undefined ? o.idleFloorMs : o.idleGaps * this.#gap;
    return Math.min(o.idleCeilingMs, Math.max(o.idleFloorMs, byGap));
  }

  /**
   * Whether a batch of this age races the newest version now, or waits for the next one
   * (at most `waitMs`, after which it asks again).
   */
  decide(ageMs: number, now: number): TurnDecision {
    const win = this.#winAge;
    if (win === undefined || ageMs >= this.#o.seniority * win) return { race: true };
    const quiet = this.#lastVersionAt === undefined ? Infinity : now - this.#lastVersionAt;
    const left = this.idleMs - quiet;
    if (left <= 0) return { race: true };
    return { race: false, waitMs: left };
  }
}
