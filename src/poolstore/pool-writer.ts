/**
 * One writer per pool, with group commit: allocations and releases that arrive while a
 * status write is in flight go out together in the next write. Every write is a PUT of
 * `/status` preconditioned on the resourceVersion it was planned on; on 409 the pool is read
 * again and the whole batch replanned, a bounded number of times with jittered backoff.
 * Many agents on one pool therefore never record one address twice: the API server's
 * precondition arbitrates, and a lost race replans on the winner's records.
 */
import type { Logger } from "pino";
import { jsonReady, stringifyJson } from "../api/int64.ts";
import { SpiderIPPoolKind, type SpiderIPPool } from "../api/ippool.ts";
import { IPRangeSet, tryParseIP, type CIDR } from "../ip/index.ts";
import { IpamError, poolNotFound, poolUnreadable, retriesExhausted } from "../ipam/errors.ts";
import { pickInDraft, releaseInDraft } from "../ipam/pick.ts";
import { poolAddresses, type PoolAddresses } from "../ipam/pool-state.ts";
import { Draft, RecordSet } from "../ipam/record-set.ts";
import { decodeWire, recordsWire } from "./record-wire.ts";
import { Backoff, sleep } from "../kube/backoff.ts";
import type { KubeClient } from "../kube/client.ts";
import { isConflict, isNotFound } from "../kube/errors.ts";
import { resourceTypeOf } from "../kube/resources.ts";
import { retryTransient, type RetryBudget } from "../kube/retry.ts";
import type { Clock } from "../kube/clock.ts";
import { Turns, type TurnsOptions } from "./turns.ts";

/** What a writer reports; the agent and the controller each back it with their metrics. */
export interface WriterMetrics {
  queueDepth(pool: string, depth: number): void;
  batch(size: number): void;
  conflict(kind: "allocate" | "release"): void;
}

export const POOLS = resourceTypeOf(SpiderIPPoolKind);

/** The member that holds a pool's records: pool informers decode only what changed in it. */
export const POOL_RECORDS: readonly string[] = ["status", "allocatedIPs"];

/**
 * How long a batch that lost a write waits, by default, for the winner's version on the
 * watch. The event follows the winner's response by a millisecond or two; a watch that has
 * stalled costs this much before the read it saves is made after all.
 */
const CONFLICT_WAIT_MS = 100;

/** A losing streak is logged at every this many losses in a row. */
const LOSING_STREAK_LOG = 25;

/** A writer that lost a write this recently treats its pool as contended (ms). */
const CONTENDED_MS = 1000;

/** How long the event of a write may wait for the write's answer before it is decoded instead. */
const HELD_WAIT_MS = 1000;

export interface AllocateOp {
  kind: "allocate";
  podUid: string;
  /** `ns/name` (`ns/<vmi>` for KubeVirt). */
  podRef: string;
  /** Which of the pod's records in this pool (0 unless another NIC of the pod draws from it too). */
  slot?: number;
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
  /** An allocation's pool subnet, as the writer parsed it for this pool's version. */
  subnet?: CIDR;
  released?: string[];
}

interface Pending {
  op: PoolOp;
  resolve: (r: OpResult) => void;
  reject: (e: Error) => void;
  /** When it was submitted (ms, the writer's clock). */
  since: number;
  /** Status writes sent with this op in the batch. */
  tries: number;
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
  /**
   * After a 409, how long to wait for the informer (through `observe`) to bring a version
   * newer than the one the write lost to, before reading the pool instead. 0: always read.
   * Default CONFLICT_WAIT_MS; an owner that never calls `observe` should pass 0.
   */
  conflictWaitMs?: number;
  /** Transient API failures (429, 5xx, no answer) of one read or write; DEFAULT_RETRY by default. */
  retry?: RetryBudget;
  /** Ages batches for fairness; performance.now by default. */
  clock?: Pick<Clock, "now">;
  metrics: WriterMetrics;
  log: Logger;
  /**
   * The newest version of the pool known to exist, when the informer watches metadata only
   * (Informer.latestVersion): a kept body older than it is read again before it is planned
   * on, and a lost write reads the pool instead of waiting for the winner's body to come on
   * the watch. Absent: bodies come on the watch.
   */
  latest?: (name: string) => number | undefined;
  /** Whose turn a busy pool's next version is (Turns); DEFAULT_TURNS by default. */
  turns?: Partial<TurnsOptions>;
}

export class PoolWriter {
  readonly name: string;
  readonly #deps: WriterDeps;
  #queue: Pending[] = [];
  #running = false;
  /** When the oldest op of the batch being committed was submitted. */
  #batchSince: number | undefined;
  /** The pool as our last write left it; the informer may lag behind it. */
  #latest: SpiderIPPool | undefined;
  #addrs: { key: string; value: PoolAddresses } | undefined;
  /**
   * The records of one version of the pool (uid and resourceVersion), parsed once and then
   * moved forward by our own successful writes, so planning on the version we just wrote
   * needs no parse at all.
   */
  #records: { uid: string; rv: string; set: RecordSet } | undefined;
  readonly #turns: Turns;
  /** When this writer last lost a write (the writer's clock). */
  #lastConflictAt: number | undefined;
  /** The status write in flight: the version it was planned on, and the pool it made once answered. */
  #inflight: { uid: string; rv: number; done: Promise<SpiderIPPool | undefined> } | undefined;
  #avail: { addrs: PoolAddresses; reserved: IPRangeSet; set: IPRangeSet } | undefined;
  /** A batch waiting for a version newer than `rv` to be observed. */
  #waiter: { rv: number; wake: (pool: SpiderIPPool) => void } | undefined;

  constructor(name: string, deps: WriterDeps) {
    this.name = name;
    this.#deps = deps;
    this.#turns = new Turns(deps.turns);
  }

  get depth(): number {
    return this.#queue.length;
  }

  /** A batch lost a write and waits for newer versions of the pool from the watch. */
  get awaitingVersion(): boolean {
    return this.#waiter !== undefined;
  }

  /** How long the oldest op waiting here (queued or in the batch being written) has waited, in ms. */
  get oldestAgeMs(): number {
    const since = Math.min(this.#batchSince ?? Infinity, this.#queue[0]?.since ?? Infinity);
    return since === Infinity ? 0 : Math.max(0, this.#now() - since);
  }

  #now(): number {
    return this.#deps.clock?.now() ?? performance.now();
  }

  /**
   * The informer saw a version of this pool. A batch that lost a write to another agent
   * replans on the winner's version as soon as it arrives here, rather than reading the
   * pool again: the read would cost the API server and this agent a parse of the whole
   * status, and the watch delivers the same object a moment later anyway.
   */
  observe(pool: SpiderIPPool): void {
    const w = this.#waiter;
    const rv = rvNumber(pool);
    this.#turns.version(rv, this.#now());
    if (w === undefined || !(rv > w.rv)) return;
    this.#waiter = undefined;
    w.wake(pool);
  }

  /**
   * A version newer than `rv`: the cached one when it is, else the first observed within
   * `ms` (none when the time runs out).
   */
  #newerThan(rv: number, ms: number): Promise<SpiderIPPool | undefined> {
    const cached = this.#deps.cached(this.name);
    if (cached !== undefined && rvNumber(cached) > rv) return Promise.resolve(cached);
    if (ms <= 0 || Number.isNaN(rv)) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        resolve(undefined);
      }, ms);
      this.#waiter = {
        rv,
        wake: (pool) => {
          clearTimeout(timer);
          resolve(pool);
        },
      };
    });
  }

  submit(op: PoolOp): Promise<OpResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ op, resolve, reject, since: this.#now(), tries: 0 });
      this.#deps.metrics.queueDepth(this.name, this.#queue.length);
      if (!this.#running) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0);
        this.#batchSince = batch[0]?.since;
        this.#deps.metrics.queueDepth(this.name, this.#queue.length);
        this.#deps.metrics.batch(batch.length);
        try {
          await this.#commit(batch);
        } catch (err) {
          // Never let one batch's unexpected failure stop the writer or the process.
          this.#deps.log.error({ pool: this.name, err }, "pool write failed unexpectedly");
          for (const p of batch) p.reject(err as Error);
        }
        this.#batchSince = undefined;
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
      // The newer of the informer's copy and our own last write (resourceVersions are etcd
      // revisions), unless a newer version is known to exist.
      const known =
        cached !== undefined && latest !== undefined
          ? rvNumber(cached) >= rvNumber(latest)
            ? cached
            : latest
          : (cached ?? latest);
      const newest = this.#deps.latest?.(this.name);
      if (known !== undefined && !(newest !== undefined && newest > rvNumber(known))) return known;
    }
    try {
      return await retryTransient(
        `GET IPPool ${this.name}`,
        () => this.#deps.client.get<SpiderIPPool>(POOLS, this.name),
        this.#deps.retry,
      );
    } catch (err) {
      if (isNotFound(err)) throw poolNotFound(this.name);
      throw err;
    }
  }

  async #commit(batch: Pending[]): Promise<void> {
    // Each op is bounded by its own count of writes and its own deadline: an op that joined a
    // losing batch late is not failed with the batch's oldest. A write loses only to another
    // agent's successful write, so the pool keeps moving while a batch waits its turn.
    const backoff = new Backoff({ initialMs: 1, factor: 1.3, maxMs: 20, jitter: 1 });
    let fresh = false;
    /** The version to plan on next, when a conflict already brought one. */
    let next: SpiderIPPool | undefined;
    let losses = 0;
    let first = true;
    for (;;) {
      this.#expire(batch);
      if (batch.length === 0) return;
      // A new batch waits its turn too while the pool is contended: else the agent whose batch
      // just won races first again, planning on its own write with no read, and the batches
      // that have waited longest keep losing to it (issue 16: 559 of 10 000 calls failed with
      // the first write ungated, 0 gated). A pool no one else writes never makes it wait.
      if (first && this.#contended()) await this.#awaitTurn(Number.NaN);
      first = false;
      const t0 = this.#now();
      let pool: SpiderIPPool;
      try {
        pool = next ?? (await this.#read(fresh));
        next = undefined;
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
          continue;
        }
        this.#settle(batch, plan.results);
        return;
      }
      const t1 = this.#now();
      const { body, written } = encodeWrite(pool, plan.draft);
      for (const p of batch) p.tries++;
      let answered: (p: SpiderIPPool | undefined) => void = () => {};
      this.#inflight = {
        uid: pool.metadata.uid ?? "",
        rv: rvNumber(pool),
        done: new Promise((r) => (answered = r)),
      };
      try {
        // A 500 or a timeout is tried again as it is: had it been applied after all, the
        // retry meets a 409 and replans on that version, where this batch's records are.
        const meta = await retryTransient(
          `PUT IPPool ${this.name}/status`,
          () => this.#deps.client.updateStatusEncoded(POOLS, this.name, undefined, body),
          this.#deps.retry,
        ).finally(() => {
          this.#inflight = undefined;
        });
        written.metadata = meta as SpiderIPPool["metadata"];
        answered(written);
        this.#latest = written;
        this.#turns.version(rvNumber(written), this.#now());
        this.#turns.won(this.oldestAgeMs);
        const base = plan.draft.base;
        base.apply(plan.draft);
        this.#records = { uid: written.metadata.uid ?? "", rv: written.metadata.resourceVersion ?? "", set: base };
        this.#settle(batch, plan.results);
        return;
      } catch (err) {
        answered(undefined);
        if (!isConflict(err)) {
          if (isNotFound(err)) err = poolNotFound(this.name);
          for (const p of batch) p.reject(err as Error);
          return;
        }
        this.#deps.metrics.conflict(batch.some((p) => p.op.kind === "allocate") ? "allocate" : "release");
        this.#latest = undefined;
        losses++;
        next = await this.#lost(pool, batch, losses, {
          readPlanMs: t1 - t0,
          writeMs: this.#now() - t1,
        });
        if (next === undefined) {
          fresh = true;
          // A read on demand follows a 409, not a stalled watch: no pause before it.
          if (this.#deps.latest === undefined) await sleep(backoff.next());
        }
      }
    }
  }

  /**
   * After a lost race (a 409): waits for this batch's
   * turn, gathers the ops that queued meanwhile, and gives the version to plan on next when
   * the watch brought its body (else the pool is read). A long losing streak is logged with
   * where its last attempt spent its time, so a writer that always loses can be told from one
   * that waits its turn.
   */
  async #lost(
    pool: SpiderIPPool,
    batch: Pending[],
    losses: number,
    last: { readPlanMs: number; writeMs: number },
  ): Promise<SpiderIPPool | undefined> {
    this.#lastConflictAt = this.#now();
    if (losses % LOSING_STREAK_LOG === 0) {
      this.#deps.log.info(
        {
          pool: this.name,
          losses,
          ageMs: Math.round(this.oldestAgeMs),
          batch: batch.length,
          plannedOn: pool.metadata.resourceVersion,
          readPlanMs: Math.round(last.readPlanMs),
          writeMs: Math.round(last.writeMs),
        },
        "pool status write keeps losing to other writers",
      );
    }
    // Whose turn the next version is: a batch younger than its writer's batches usually
    // are when they win lets versions go by (Turns), so the oldest race and the young
    // cost the pool nothing; the pool is never left idle for long.
    await this.#awaitTurn(rvNumber(pool));
    let next: SpiderIPPool | undefined;
    if (this.#deps.latest === undefined) {
      next = await this.#newerThan(rvNumber(pool), this.#deps.conflictWaitMs ?? CONFLICT_WAIT_MS);
    }
    // Ops that queued while this batch was losing go out with it: under contention the
    // batch that finally wins carries them all, instead of each waiting for a turn.
    const joined = this.#queue.splice(0);
    if (joined.length > 0) {
      batch.push(...joined);
      this.#deps.metrics.queueDepth(this.name, 0);
    }
    this.#deps.log.debug(
      { pool: this.name, losses, batch: batch.length, joined: joined.length, observed: next !== undefined },
      "pool status write lost; replanning",
    );
    return next;
  }

  /**
   * Waits until it is this batch's turn: while Turns says a batch of its age lets versions
   * go by, each version newer than `rv` (or the idle bound) is waited for and the question
   * asked again.
   */
  async #awaitTurn(rv: number): Promise<void> {
    let seen = rv;
    for (;;) {
      const d = this.#turns.decide(this.oldestAgeMs, this.#now());
      if (d.race) return;
      const known = newestOf(seen, this.#deps.latest?.(this.name), this.#cachedRv());
      if (Number.isNaN(known)) {
        // No version known yet to wait for: the question is asked again on time alone.
        await sleep(d.waitMs);
        continue;
      }
      const got = await this.#newerThan(known, Math.max(1, d.waitMs));
      seen = got === undefined ? known : Math.max(known, rvNumber(got));
    }
  }

  /** Whether this writer lost a write to another's within the last CONTENDED_MS. */
  #contended(): boolean {
    return this.#lastConflictAt !== undefined && this.#now() - this.#lastConflictAt < CONTENDED_MS;
  }

  #cachedRv(): number {
    const c = this.#deps.cached(this.name);
    return c === undefined ? Number.NaN : rvNumber(c);
  }

  /**
   * Fails the ops of the batch that are out of writes or time, each with its own count, and
   * takes them out of it (in place: the drain that owns the batch still sees every op in it).
   */
  #expire(batch: Pending[]): void {
    const now = this.#now();
    let kept = 0;
    for (const p of batch) {
      if (p.tries > 0 && (p.tries >= this.#deps.maxRetries || now >= p.since + this.#deps.deadlineMs)) {
        p.reject(retriesExhausted(`failed to write the status of IPPool ${this.name}`, p.tries));
      } else batch[kept++] = p;
    }
    if (kept === batch.length) return;
    batch.length = kept;
    if (kept > 0) this.#batchSince = batch[0]?.since;
  }

  /**
   * The pool at `meta`'s version when it is the one our last write made, for the informer
   * (see Informer.recognize): the event echoing our own write need not be decoded.
   */
  held(meta: { uid?: string; resourceVersion?: string }): SpiderIPPool | Promise<SpiderIPPool | undefined> | undefined {
    const rv = meta.resourceVersion;
    if (rv === undefined) return undefined;
    const l = this.#latest;
    if (l !== undefined && l.metadata.resourceVersion === rv && l.metadata.uid === meta.uid) return l;
    // A version newer than the one our write in flight was planned on is that write's, or
    // the one it lost to: which, its answer tells, and it is a moment away. The bound keeps
    // a hung write from holding the watch.
    const f = this.#inflight;
    if (f === undefined || f.uid !== meta.uid || !(Number(rv) > f.rv)) return undefined;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), HELD_WAIT_MS);
      void f.done.then((p) => {
        clearTimeout(timer);
        resolve(p?.metadata.resourceVersion === rv ? p : undefined);
      });
    });
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

  /**
   * The records of `pool`'s version: the kept set when it is that version, the kept set
   * synced to it when it is another version of the same pool, else parsed.
   */
  #recordsOf(pool: SpiderIPPool, family: 4 | 6): RecordSet {
    const uid = pool.metadata.uid ?? "";
    const rv = pool.metadata.resourceVersion ?? "";
    const kept = this.#records;
    if (kept !== undefined && kept.uid === uid && kept.set.family === family) {
      if (kept.rv === rv && rv !== "") return kept.set;
      // Unset first: a sync that throws on a garbled status must not leave a half-synced set kept.
      this.#records = undefined;
      kept.set.sync(pool.status?.allocatedIPs);
      this.#records = { uid, rv, set: kept.set };
      return kept.set;
    }
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
          const pick = pickInDraft(this.name, available, draft, op.podUid, this.#deps.maxRecords, op.slot ?? 0);
          if (!pick.reused) draft.set(pick.ip, { pod: op.podRef, podUid: op.podUid });
          results.push({ ip: pick.ip, reused: pick.reused, subnet: addrs.subnet });
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
            ? new IpamError(
                "ERR_DATA_BROKEN",
                `failed to update allocated IP because of data broken: ${broken.join(", ")}`,
              )
            : {},
        );
      }
    }
    return { draft, results, changed: draft.changed };
  }
}

/** The largest of the versions that are known (NaN when none is). */
function newestOf(...rvs: Array<number | undefined>): number {
  let m = Number.NaN;
  for (const v of rvs) if (v !== undefined && !Number.isNaN(v) && !(v <= m)) m = v;
  return m;
}

/** A resourceVersion as the number it is on an etcd-backed API server (NaN when it is not). */
function rvNumber(pool: SpiderIPPool): number {
  const rv = pool.metadata.resourceVersion;
  return rv === undefined || rv === "" ? Number.NaN : Number(rv);
}

/** Stands in the encoded status for the records, which are spliced in as bytes. */
const RECORDS_MARK = "\u0000spiderpool-ts:allocatedIPs\u0000";
const RECORDS_MARK_JSON = JSON.stringify(RECORDS_MARK);

/**
 * The body of the status write that records `draft` on `pool`'s version, and the pool as
 * that write leaves it (its metadata comes from the answer). The records go out as the
 * blocks of bytes the record set keeps for the wire, written to the socket one after
 * another: a write costs what changed, not a serialisation (nor even a copy) of every
 * record. The object keeps the same blocks and decodes them only if something reads
 * `status.allocatedIPs`.
 */
function encodeWrite(pool: SpiderIPPool, draft: Draft): { body: Buffer[]; written: SpiderIPPool } {
  // The status as kept (bigints as they are) and as sent: a big IPv6 pool's totalIPCount is a
  // bigint, and given to JSON.stringify as its digits the plain path holds.
  const status: Record<string, unknown> = {};
  const textStatus: Record<string, unknown> = {};
  const old = (pool.status ?? {}) as Record<string, unknown>;
  // Copied member by member: reading allocatedIPs of a pool we wrote would decode it.
  for (const k of Object.keys(old)) {
    if (k === "allocatedIPs") continue;
    status[k] = old[k];
    textStatus[k] = jsonReady(old[k]);
  }
  status["allocatedIPCount"] = textStatus["allocatedIPCount"] = draft.size;
  const wire = recordsWire(draft.base, draft);
  if (wire === undefined) {
    return {
      body: [Buffer.from(stringifyJson({ ...pool, status: textStatus }))],
      written: { ...pool, status } as SpiderIPPool,
    };
  }
  textStatus["allocatedIPs"] = RECORDS_MARK;
  const text = stringifyJson({ ...pool, status: textStatus });
  const at = text.indexOf(RECORDS_MARK_JSON);
  if (at < 0 || text.lastIndexOf(RECORDS_MARK_JSON) !== at)
    throw new Error("pool status encoding: records mark not found once");
  const body = [
    Buffer.from(text.slice(0, at + 1)),
    ...wire,
    Buffer.from(text.slice(at + RECORDS_MARK_JSON.length - 1)),
  ];
  let decoded: string | undefined;
  Object.defineProperty(status, "allocatedIPs", {
    enumerable: true,
    configurable: true,
    get: () => (decoded ??= decodeWire(wire)),
  });
  return { body, written: { ...pool, status } as SpiderIPPool };
}
