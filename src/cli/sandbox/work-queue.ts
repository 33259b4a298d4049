/**
 * A controller's work queue, as client-go's: a key is processed by one worker at a time, an
 * add while it runs processes it once more afterwards, a failure is retried with backoff.
 */
import { Backoff, type BackoffOptions } from "../../kube/index.ts";

export class WorkQueue {
  readonly #handle: (key: string) => Promise<void>;
  readonly #onError: (key: string, err: unknown) => void;
  readonly #backoff: BackoffOptions;
  readonly #running = new Map<string, Promise<void>>();
  readonly #again = new Set<string>();
  readonly #retries = new Map<string, { b: Backoff; t: NodeJS.Timeout | undefined }>();
  #stopped = false;

  constructor(
    handle: (key: string) => Promise<void>,
    onError: (key: string, err: unknown) => void,
    backoff: BackoffOptions = {},
  ) {
    this.#handle = handle;
    this.#onError = onError;
    this.#backoff = backoff;
  }

  add(key: string): void {
    if (this.#stopped) return;
    if (this.#running.has(key)) {
      this.#again.add(key);
      return;
    }
    const run = (async () => {
      do {
        this.#again.delete(key);
        try {
          await this.#handle(key);
          const r = this.#retries.get(key);
          if (r !== undefined) clearTimeout(r.t);
          this.#retries.delete(key);
        } catch (err) {
          this.#onError(key, err);
          this.#later(key);
        }
      } while (this.#again.has(key) && !this.#stopped);
    })().finally(() => this.#running.delete(key));
    this.#running.set(key, run);
  }

  #later(key: string): void {
    let r = this.#retries.get(key);
    if (r === undefined) {
      r = { b: new Backoff({ initialMs: 100, maxMs: 5000, ...this.#backoff }), t: undefined };
      this.#retries.set(key, r);
    }
    clearTimeout(r.t);
    r.t = setTimeout(() => this.add(key), r.b.next());
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const r of this.#retries.values()) clearTimeout(r.t);
    await Promise.allSettled([...this.#running.values()]);
  }
}
