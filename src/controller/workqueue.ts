/**
 * A keyed work queue with one worker, as client-go's workqueue is used by upstream's
 * SpiderMultusConfig and SpiderCoordinator controllers: a key queued twice is worked once,
 * a key is never worked by two callers at once, a failed key comes back after a delay with
 * its retry count, and nothing runs while this replica does not lead.
 */

export interface WorkQueueOptions {
  /** Works one key; throws to ask for a retry (the caller's `retryDelay` decides when). */
  work: (key: string) => Promise<void>;
  /** Delay before retry number `n` (1-based) of a key that failed with `err`; undefined drops the key. */
  retryDelay: (err: unknown, n: number) => number | undefined;
  isLeader: () => boolean;
  onDepth?: (depth: number) => void;
}

export class WorkQueue {
  readonly #o: WorkQueueOptions;
  readonly #queue: string[] = [];
  readonly #queued = new Set<string>();
  readonly #retries = new Map<string, number>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #working = false;
  #stopped = false;
  #idle: Array<() => void> = [];

  constructor(o: WorkQueueOptions) {
    this.#o = o;
  }

  get depth(): number {
    return this.#queue.length;
  }

  add(key: string): void {
    if (this.#stopped) return;
    if (!this.#queued.has(key)) {
      this.#queued.add(key);
      this.#queue.push(key);
      this.#o.onDepth?.(this.#queue.length);
    }
    void this.#run();
  }

  addAfter(key: string, ms: number): void {
    if (this.#stopped || this.#timers.has(key)) return;
    const t = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, ms);
    t.unref();
    this.#timers.set(key, t);
  }

  /** Leadership arrived: work what waited for it. */
  kick(): void {
    void this.#run();
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#queue.length = 0;
    this.#queued.clear();
  }

  /** Resolves once nothing is being worked and nothing queued can be (tests wait on settled states with it). */
  idle(): Promise<void> {
    if (!this.#working && (this.#queue.length === 0 || !this.#o.isLeader())) return Promise.resolve();
    return new Promise((r) => this.#idle.push(r));
  }

  async #run(): Promise<void> {
    if (this.#working) return;
    this.#working = true;
    try {
      while (this.#queue.length > 0 && !this.#stopped && this.#o.isLeader()) {
        const key = this.#queue.shift() as string;
        this.#queued.delete(key);
        this.#o.onDepth?.(this.#queue.length);
        try {
          await this.#o.work(key);
          this.#retries.delete(key);
        } catch (err) {
          const n = (this.#retries.get(key) ?? 0) + 1;
          const delay = this.#o.retryDelay(err, n);
          if (delay === undefined) this.#retries.delete(key);
          else {
            this.#retries.set(key, n);
            this.addAfter(key, delay);
          }
        }
      }
    } finally {
      this.#working = false;
      if (this.#queue.length === 0 || !this.#o.isLeader()) for (const r of this.#idle.splice(0)) r();
    }
  }
}
