/**
 * The pool writers of one process, one per pool, made on first use and evicted when the pool
 * is deleted, so a process's memory follows the pools that exist rather than every pool it
 * ever saw (auto-pools come and go with their applications). The agent and the controller
 * each own one registry.
 */
import type { SpiderIPPool } from "../api/ippool.ts";
import type { OpResult, PoolOp, PoolWriter } from "./pool-writer.ts";

/** What a registry hands out: the writer's operations, not its internals. */
export type PoolWriterHandle = Pick<PoolWriter, "submit" | "observe" | "held" | "depth" | "oldestAgeMs">;

export interface PoolWriterRegistry {
  get(pool: string): Pick<PoolWriterHandle, "submit">;
  submit(pool: string, op: PoolOp): Promise<OpResult>;
}

export class PoolWriters implements PoolWriterRegistry {
  readonly #make: (pool: string) => PoolWriterHandle;
  readonly #writers = new Map<string, PoolWriterHandle>();

  constructor(make: (pool: string) => PoolWriterHandle) {
    this.#make = make;
  }

  get(pool: string): PoolWriterHandle {
    let w = this.#writers.get(pool);
    if (w === undefined) {
      w = this.#make(pool);
      this.#writers.set(pool, w);
    }
    return w;
  }

  submit(pool: string, op: PoolOp): Promise<OpResult> {
    return this.get(pool).submit(op);
  }

  /** The writer of `pool`, only if one exists: events of pools nobody writes make none. */
  peek(pool: string): PoolWriterHandle | undefined {
    return this.#writers.get(pool);
  }

  /**
   * The pool was deleted. Ops already queued on the writer still settle (they fail with the
   * pool's NotFound); a pool re-created under the name gets a fresh writer.
   */
  evict(pool: string): void {
    this.#writers.delete(pool);
  }

  /** Forwards the informer's pool events to the pool's writer, and evicts on deletion. */
  follow(informer: {
    addHandlers(h: {
      onAdd?: (p: SpiderIPPool) => void;
      onUpdate?: (o: SpiderIPPool, p: SpiderIPPool) => void;
      onDelete?: (p: SpiderIPPool) => void;
    }): void;
    /** Every version, also those whose body a metadata-only watch did not read. */
    onVersion?(fn: (meta: { name?: string; resourceVersion?: string }) => void): void;
  }): void {
    const observe = (p: SpiderIPPool): void => this.peek(p.metadata.name ?? "")?.observe(p);
    // Only the version counts for a waiting writer; a metadata watch brings no body.
    informer.onVersion?.((meta) => observe({ metadata: meta } as SpiderIPPool));
    informer.addHandlers({
      onAdd: observe,
      onUpdate: (_o, p) => observe(p),
      onDelete: (p) => this.evict(p.metadata.name ?? ""),
    });
  }

  get size(): number {
    return this.#writers.size;
  }

  get depth(): number {
    let n = 0;
    for (const w of this.#writers.values()) n += w.depth;
    return n;
  }

  /** Drops every writer; a late op (a request finishing during shutdown) makes a new one. */
  /** How long the oldest op waiting in any writer has waited, in ms. */
  get oldestAgeMs(): number {
    let max = 0;
    for (const w of this.#writers.values()) max = Math.max(max, w.oldestAgeMs);
    return max;
  }

  close(): void {
    this.#writers.clear();
  }
}
