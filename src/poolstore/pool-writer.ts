/**
 * One writer per pool, with group commit: allocations and releases that arrive while a
 * status write is in flight go out together in the next write. Every write is a PUT of
 * `/status` preconditioned on the resourceVersion it was planned on; on 409 the pool is read
 * again and the whole batch replanned, a bounded number of times with jittered backoff.
 * Many agents on one pool therefore never record one address twice: the API server's
 * precondition arbitrates, and a lost race replans on the winner's records.
 */
import type { Logger } from "pino";
import { SpiderIPPoolKind, type SpiderIPPool } from "../api/ippool.ts";
import { IPRangeSet, tryParseIP } from "../ip/index.ts";
import { poolNotFound, poolUnreadable, retriesExhausted } from "../ipam/errors.ts";
import { pickInDraft, poolAddresses, releaseInDraft, type PoolAddresses } from "../ipam/pool-state.ts";
import { Draft, RecordSet } from "../ipam/record-set.ts";
import { Backoff, sleep } from "../kube/backoff.ts";
import type { KubeClient } from "../kube/client.ts";
import { isConflict, isNotFound } from "../kube/errors.ts";
import { resourceTypeOf } from "../kube/resources.ts";

/** What a writer reports; the agent and the controller each back it with their metrics. */
export interface WriterMetrics {
  queueDepth(pool: string, depth: number): void;
  batch(size: number): void;
  conflict(kind: "allocate" | "release"): void;
}

export const POOLS = resourceTypeOf(SpiderIPPoolKind);

export interface AllocateOp {
  kind: "allocate";
  podUid: string;
  /** `ns/name` (`ns/<vmi>` for KubeVirt). */
  podRef: string;
}

export interface ReleaseOp {
  kind: "release";
  podUid: string;
  ips: string[];
}

/** Rewrites the pod UID of records a StatefulSet or KubeVirt pod keeps across re-creation. */
export interface RetargetOp {
  kind: "retarget";
  ips: string[];
  podRef: string;
  podUid: string;
}

export type PoolOp = AllocateOp | ReleaseOp | RetargetOp;

export interface OpResult {
  ip?: string;
  reused?: boolean;
  released?: string[];
}

interface Pending {
  op: PoolOp;
  resolve: (r: OpResult) => void;
  reject: (e: Error) => void;
}

export interface WriterDeps {
  client: KubeClient;
  /** The informer's copy, when there is one: saves a read before the first write. */
  cached: (name: string) => SpiderIPPool | undefined;
  /** Reserved addresses (all SpiderReservedIPs) of a family. */
  reserved: (family: 4 | 6) => IPRangeSet;
  maxRecords: number;
  /** Upper bound on attempts for one batch. */
  maxRetries: number;
  /** Upper bound on the time one batch may keep retrying. */
  deadlineMs: number;
  metrics: WriterMetrics;
  log: Logger;
}

export class PoolWriter {
  readonly name: string;
  readonly #deps: WriterDeps;
  #queue: Pending[] = [];
  #running = false;
  /** The pool as our last write left it; the informer may lag behind it. */
  #latest: SpiderIPPool | undefined;
  #addrs: { key: string; value: PoolAddresses } | undefined;
  /**
   * The records of one version of the pool (uid and resourceVersion), parsed once and then
   * moved forward by our own successful writes, so planning on the version we just wrote
   * needs no parse at all.
   */
  #records: { uid: string; rv: string; set: RecordSet } | undefined;
  #avail: { addrs: PoolAddresses; reserved: IPRangeSet; set: IPRangeSet } | undefined;

  constructor(name: string, deps: WriterDeps) {
    this.name = name;
    this.#deps = deps;
  }

  get depth(): number {
    return this.#queue.length;
  }

  submit(op: PoolOp): Promise<OpResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ op, resolve, reject });
      this.#deps.metrics.queueDepth(this.name, this.#queue.length);
      if (!this.#running) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0);
        this.#deps.metrics.queueDepth(this.name, this.#queue.length);
        this.#deps.metrics.batch(batch.length);
        try {
          await this.#commit(batch);
        } catch (err) {
          // Never let one batch's unexpected failure stop the writer or the process.
          this.#deps.log.error({ pool: this.name, err }, "pool write failed unexpectedly");
          for (const p of batch) p.reject(err as Error);
        }
      }
    } finally {
      this.#running = false;
    }
  }

  #addresses(pool: SpiderIPPool): PoolAddresses {
    // Specs change rarely; the address sets are rebuilt only when the generation does.
    const key = `${pool.metadata.uid ?? ""}/${pool.metadata.generation ?? 0}`;
    if (this.#addrs?.key !== key) this.#addrs = { key, value: poolAddresses(pool.spec) };
    return this.#addrs.value;
  }

  async #read(fresh: boolean): Promise<SpiderIPPool> {
    if (!fresh) {
      const cached = this.#deps.cached(this.name);
      const latest = this.#latest;
      // The newer of the informer's copy and our own last write (resourceVersions are etcd revisions).
      if (cached !== undefined && latest !== undefined) {
        return Number(cached.metadata.resourceVersion) >= Number(latest.metadata.resourceVersion) ? cached : latest;
      }
      const known = cached ?? latest;
      if (known !== undefined) return known;
    }
    try {
      return await this.#deps.client.get<SpiderIPPool>(POOLS, this.name);
    } catch (err) {
      if (isNotFound(err)) throw poolNotFound(this.name);
      throw err;
    }
  }

  async #commit(batch: Pending[]): Promise<void> {
    // Retries are bounded by count and by time. Under contention a write loses only to
    // another agent's successful write, so the pool keeps moving; a short, fully jittered
    // pause keeps racing agents out of lockstep without idling the pool.
    const backoff = new Backoff({ initialMs: 1, factor: 1.3, maxMs: 20, jitter: 1 });
    const deadline = Date.now() + this.#deps.deadlineMs;
    let fresh = false;
    let attempt = 0;
    while (attempt < this.#deps.maxRetries && (attempt === 0 || Date.now() < deadline)) {
      attempt++;
      let pool: SpiderIPPool;
      try {
        pool = await this.#read(fresh);
      } catch (err) {
        for (const p of batch) p.reject(err as Error);
        return;
      }
      let plan: { draft: Draft; results: Array<OpResult | Error>; changed: boolean };
      try {
        plan = this.#plan(pool, batch);
      } catch (err) {
        const e = poolUnreadable(this.name, err);
        for (const p of batch) p.reject(e);
        return;
      }
      if (!plan.changed) {
        // A plan that writes nothing is not checked by the API server's precondition, so it
        // is only trusted on a fresh read: the cache may lag behind another agent's write
        // (an address freed, a record retargeted).
        if (!fresh) {
          fresh = true;
          attempt--; // a confirming read is not a retry
          continue;
        }
        this.#settle(batch, plan.results);
        return;
      }
      const status: Record<string, unknown> = { ...(pool.status ?? {}), allocatedIPCount: plan.draft.size };
      const allocated = plan.draft.base.render(plan.draft);
      if (allocated === undefined) delete status["allocatedIPs"];
      else status["allocatedIPs"] = allocated;
      try {
        const written = await this.#deps.client.updateStatus(POOLS, { ...pool, status } as SpiderIPPool & {
          [k: string]: unknown;
        });
        this.#latest = written;
        const base = plan.draft.base;
        base.apply(plan.draft);
        this.#records = { uid: written.metadata.uid ?? "", rv: written.metadata.resourceVersion ?? "", set: base };
        this.#settle(batch, plan.results);
        return;
      } catch (err) {
        if (!isConflict(err)) {
          if (isNotFound(err)) err = poolNotFound(this.name);
          for (const p of batch) p.reject(err as Error);
          return;
        }
        this.#deps.metrics.conflict(batch.some((p) => p.op.kind === "allocate") ? "allocate" : "release");
        this.#deps.log.debug(
          { pool: this.name, attempt, batch: batch.length },
          "pool status write conflicted; replanning on a fresh read",
        );
        fresh = true;
        this.#latest = undefined;
        await sleep(backoff.next());
      }
    }
    const err = retriesExhausted(`failed to write the status of IPPool ${this.name}`, attempt);
    for (const p of batch) p.reject(err);
  }

  #settle(batch: Pending[], results: Array<OpResult | Error>): void {
    batch.forEach((p, i) => {
      const r = results[i];
      if (r instanceof Error) p.reject(r);
      else p.resolve(r ?? {});
    });
  }

  /** The pool's addresses less reserved ones: one object while neither changes, so searches can keep a hint. */
  #available(addrs: PoolAddresses, reserved: IPRangeSet): IPRangeSet {
    const a = this.#avail;
    if (a !== undefined && a.addrs === addrs && a.reserved === reserved) return a.set;
    const set = reserved.family === addrs.family ? addrs.effective.subtract(reserved) : addrs.effective;
    this.#avail = { addrs, reserved, set };
    return set;
  }

  /** The records of `pool`'s version: the kept set when it is that version, else parsed. */
  #recordsOf(pool: SpiderIPPool, family: 4 | 6): RecordSet {
    const uid = pool.metadata.uid ?? "";
    const rv = pool.metadata.resourceVersion ?? "";
    const kept = this.#records;
    if (kept !== undefined && kept.uid === uid && kept.rv === rv && rv !== "" && kept.set.family === family)
      return kept.set;
    const set = RecordSet.parse(family, pool.status?.allocatedIPs);
    this.#records = { uid, rv, set };
    return set;
  }

  /** Applies the batch to the pool's records, in arrival order, as a draft over them. */
  #plan(pool: SpiderIPPool, batch: Pending[]): { draft: Draft; results: Array<OpResult | Error>; changed: boolean } {
    const addrs = this.#addresses(pool);
    const draft = new Draft(this.#recordsOf(pool, addrs.family));
    const results: Array<OpResult | Error> = [];
    const reserved = this.#deps.reserved(addrs.family);
    const available = this.#available(addrs, reserved);
    for (const { op } of batch) {
      if (op.kind === "allocate") {
        try {
          const pick = pickInDraft(this.name, available, draft, op.podUid, this.#deps.maxRecords);
          if (!pick.reused) draft.set(pick.ip, { pod: op.podRef, podUid: op.podUid });
          results.push({ ip: pick.ip, reused: pick.reused });
        } catch (err) {
          results.push(err as Error);
        }
      } else if (op.kind === "release") {
        const released = releaseInDraft(draft, op.ips, op.podUid);
        results.push({ released });
      } else {
        const broken: string[] = [];
        for (const ip of op.ips) {
          const rec = draft.get(ip);
          if (rec === undefined) {
            // The pod is about to use this address: a missing record (released by a GC
            // that raced the pod's return) is written again while the address is free, so
            // the pod never runs on an address the pool could hand to another.
            const v = tryParseIP(ip);
            if (v !== undefined && v.family === addrs.family && addrs.effective.has(v.value)) {
              draft.set(ip, { pod: op.podRef, podUid: op.podUid });
            } else broken.push(`${ip} is not in the pool`);
            continue;
          }
          if (rec.pod !== op.podRef) {
            broken.push(`${ip} belongs to ${rec.pod}`);
            continue;
          }
          if (rec.podUid !== op.podUid) {
            draft.set(ip, { pod: op.podRef, podUid: op.podUid });
          }
        }
        results.push(
          broken.length > 0
            ? new Error(`failed to update allocated IP because of data broken: ${broken.join(", ")}`)
            : {},
        );
      }
    }
    return { draft, results, changed: draft.changed };
  }
}
