/**
 * List + watch into a local store, with indexers and event handlers. It never stops on
 * its own: errors are reported and retried with jittered backoff; an expired
 * resourceVersion (410) triggers a relist whose differences are delivered as events, so
 * handlers converge on the server's state without losing an object.
 */
import { Backoff, sleep, type BackoffOptions } from "./backoff.ts";
import { METADATA_WATCH, type AnyObject, type KubeClient, type KubeObject, type WatchEvent } from "./client.ts";
import { ApiError, isGone, isNotFound } from "./errors.ts";
import type { ResourceType } from "./resources.ts";
import { isStatus } from "./status.ts";
import { StringDeltas } from "./string-deltas.ts";

export type IndexFunc<T> = (obj: T) => string[];

export interface InformerHandlers<T> {
  onAdd?: (obj: T) => void;
  onUpdate?: (oldObj: T, newObj: T) => void;
  onDelete?: (obj: T) => void;
}

export interface InformerOptions<T> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  indexers?: Record<string, IndexFunc<T>>;
  /** Server-side watch timeout; each watch uses a random value in [t, 2t) as client-go does. */
  watchTimeoutSeconds?: number;
  pageSize?: number;
  backoff?: BackoffOptions;
  onError?: (err: unknown) => void;
  /**
   * A member of the objects (a path from the object down) holding one big string that
   * changes little per version: watch events decode only what changed (string-deltas.ts).
   */
  deltaString?: readonly string[];
  /**
   * Watch metadata only (PartialObjectMetadata events): a version that keeps the stored
   * object's uid and generation (a status write) leaves the stored body as it was and is
   * reported to `onVersion` listeners and by `latestVersion`; a new object or a changed spec
   * is read whole (GET) and stored. For objects whose status is big and written often by
   * many (pools on 100 nodes), so that a watcher pays for a body only when it reads one.
   */
  metadataWatch?: boolean;
  /**
   * With `metadataWatch`: a stored body older than the newest version is read again after
   * this long (ms, 10 000 by default), so readers of the store see a status at most about
   * this stale, at one read per object per period however often it is written.
   */
  metadataRefreshMs?: number;
}

export type ObjectMeta = NonNullable<KubeObject["metadata"]>;

/** See `recognize`. */
export type KnownVersion<T> = (meta: NonNullable<KubeObject["metadata"]>) => T | Promise<T | undefined> | undefined;

export function keyOf(obj: AnyObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? "";
  return ns !== undefined && ns !== "" ? `${ns}/${name}` : name;
}

/**
 * Whether a metadata-only version leaves the stored body's spec and metadata as they are: a
 * new generation is a spec change; labels, annotations, finalizers, owners and a deletion
 * are metadata readers go by (auto-pools are found by their labels) and come only with a read.
 */
function sameMetadata(stored: unknown, meta: unknown): boolean {
  const a = (stored ?? {}) as Record<string, unknown>;
  const b = (meta ?? {}) as Record<string, unknown>;
  for (const k of ["generation", "deletionTimestamp"]) if (a[k] !== b[k]) return false;
  for (const k of ["labels", "annotations", "finalizers", "ownerReferences"])
    if (JSON.stringify(a[k] ?? null) !== JSON.stringify(b[k] ?? null)) return false;
  return true;
}

export const byNamespace = <T extends AnyObject>(obj: T): string[] =>
  obj.metadata?.namespace !== undefined ? [obj.metadata.namespace] : [];

export const byNodeName = <T extends AnyObject>(obj: T): string[] => {
  const node = (obj as { spec?: { nodeName?: string } }).spec?.nodeName;
  return node !== undefined && node !== "" ? [node] : [];
};

export class Informer<T extends AnyObject = KubeObject> {
  readonly #client: KubeClient;
  readonly #rt: ResourceType;
  readonly #opts: InformerOptions<T>;
  readonly #store = new Map<string, T>();
  readonly #indices = new Map<string, Map<string, Set<string>>>();
  readonly #handlers: InformerHandlers<T>[] = [];
  readonly #abort = new AbortController();
  #synced = false;
  #syncWaiters: Array<{ resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout }> = [];
  #running: Promise<void> | undefined;
  #resourceVersion = "";
  #known: KnownVersion<T> | undefined;
  readonly #deltas: StringDeltas | undefined;
  /** Metadata watches: the newest resourceVersion seen of each object, stored body or not. */
  readonly #latest = new Map<string, number>();
  readonly #versionListeners: Array<(meta: ObjectMeta) => void> = [];
  /** Metadata watches: the pending re-read of each object whose stored body is stale. */
  readonly #refreshes = new Map<string, NodeJS.Timeout>();
  /** Relists so far (410s and restarts), for metrics and tests. */
  relists = 0;

  constructor(client: KubeClient, rt: ResourceType, opts: InformerOptions<T> = {}) {
    this.#client = client;
    this.#rt = rt;
    this.#opts = opts;
    for (const name of Object.keys(opts.indexers ?? {})) this.#indices.set(name, new Map());
    if (opts.deltaString !== undefined)
      this.#deltas = new StringDeltas(["object", ...opts.deltaString], ["object", "metadata", "uid"]);
  }

  /** Watch events decoded from a kept version vs whole (see InformerOptions.deltaString). */
  get deltaStats(): { reused: number; whole: number } | undefined {
    return this.#deltas?.stats;
  }

  addHandlers(h: InformerHandlers<T>): void {
    this.#handlers.push(h);
    // Late handlers see the current state as adds, as client-go's do.
    if (this.#synced) for (const obj of this.#store.values()) this.#call(() => h.onAdd?.(obj));
  }

  /**
   * Lets the owner of objects' own writes stand in for the events that echo them: a
   * MODIFIED event at a version `known` returns an object for is not decoded, and that
   * object goes into the store. What it returns must be the object at exactly that
   * resourceVersion. It may answer later (a promise, which holds the watch until it
   * settles) when the version may be one of its writes whose answer has not come yet.
   * Call it before start().
   */
  recognize(known: KnownVersion<T>): void {
    this.#known = known;
  }

  /**
   * Called with the metadata of every version the watch brings of an object (with
   * `metadataWatch`, also those whose body was not read), after the store has it.
   */
  onVersion(fn: (meta: ObjectMeta) => void): void {
    this.#versionListeners.push(fn);
  }

  /**
   * The newest resourceVersion seen of an object, as a number (etcd revisions are), with
   * `metadataWatch`; a stored body older than it is stale. Undefined without it.
   */
  latestVersion(name: string, namespace?: string): number | undefined {
    return this.#latest.get(keyOf({ metadata: { name, namespace } }));
  }

  start(): void {
    this.#running ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    for (const t of this.#refreshes.values()) clearTimeout(t);
    this.#refreshes.clear();
    for (const w of this.#syncWaiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error(`${this.#rt.plural}: informer stopped`));
    }
    await this.#running;
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves once the first list is in the store; rejects after `timeoutMs`. */
  waitForSync(timeoutMs = 30_000): Promise<void> {
    if (this.#synced) return Promise.resolve();
    if (this.#abort.signal.aborted) return Promise.reject(new Error(`${this.#rt.plural}: informer stopped`));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#syncWaiters = this.#syncWaiters.filter((w) => w !== waiter);
          reject(new Error(`${this.#rt.plural}: informer not synced after ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.#syncWaiters.push(waiter);
    });
  }

  get lastResourceVersion(): string {
    return this.#resourceVersion;
  }

  get(key: string): T | undefined {
    return this.#store.get(key);
  }

  getByName(name: string, namespace?: string): T | undefined {
    return this.#store.get(keyOf({ metadata: { name, namespace } }));
  }

  list(): T[] {
    return [...this.#store.values()];
  }

  get size(): number {
    return this.#store.size;
  }

  byIndex(index: string, value: string): T[] {
    const idx = this.#indices.get(index);
    if (idx === undefined) throw new Error(`informer has no index '${index}'`);
    const keys = idx.get(value);
    if (keys === undefined) return [];
    const out: T[] = [];
    for (const k of keys) {
      const obj = this.#store.get(k);
      if (obj !== undefined) out.push(obj);
    }
    return out;
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#opts.onError?.(err);
    }
  }

  #index(key: string, obj: T | undefined, old: T | undefined): void {
    for (const [name, fn] of Object.entries(this.#opts.indexers ?? {})) {
      const idx = this.#indices.get(name) as Map<string, Set<string>>;
      if (old !== undefined) {
        for (const v of fn(old)) {
          const set = idx.get(v);
          set?.delete(key);
          if (set?.size === 0) idx.delete(v);
        }
      }
      if (obj !== undefined) {
        for (const v of fn(obj)) {
          let set = idx.get(v);
          if (set === undefined) idx.set(v, (set = new Set()));
          set.add(key);
        }
      }
    }
  }

  #put(obj: T): void {
    const key = keyOf(obj);
    const old = this.#store.get(key);
    this.#store.set(key, obj);
    this.#index(key, obj, old);
    for (const h of [...this.#handlers]) {
      if (old === undefined) this.#call(() => h.onAdd?.(obj));
      else this.#call(() => h.onUpdate?.(old, obj));
    }
  }

  #remove(obj: T): void {
    const key = keyOf(obj);
    const old = this.#store.get(key);
    if (old === undefined) return;
    // A metadata watch may already hold the object re-created under the name (read by GET).
    const uid = obj.metadata?.uid;
    if (uid !== undefined && old.metadata?.uid !== undefined && old.metadata.uid !== uid) return;
    this.#store.delete(key);
    this.#latest.delete(key);
    this.#index(key, undefined, old);
    if (old.metadata?.uid !== undefined) this.#deltas?.forget(old.metadata.uid);
    for (const h of [...this.#handlers]) this.#call(() => h.onDelete?.(obj));
  }

  async #relist(): Promise<void> {
    const res = await this.#client.listAll<T>(this.#rt, {
      ...(this.#opts.namespace !== undefined ? { namespace: this.#opts.namespace } : {}),
      ...(this.#opts.labelSelector !== undefined ? { labelSelector: this.#opts.labelSelector } : {}),
      ...(this.#opts.fieldSelector !== undefined ? { fieldSelector: this.#opts.fieldSelector } : {}),
      limit: this.#opts.pageSize ?? 500,
      signal: this.#abort.signal,
    });
    const seen = new Set<string>();
    for (const item of res.items) {
      // List items carry no kind; the store keeps objects as a watch would deliver them.
      const obj = { apiVersion: res.apiVersion, kind: this.#rt.kind, ...item } as T;
      const key = keyOf(obj);
      seen.add(key);
      const old = this.#store.get(key);
      // A metadata watch's read may have stored a body newer than the list.
      if (
        this.#opts.metadataWatch === true
          ? this.#supersedes(key, obj)
          : old === undefined || old.metadata?.resourceVersion !== obj.metadata?.resourceVersion
      )
        this.#put(obj);
      if (this.#opts.metadataWatch === true) this.#latest.set(key, Number(obj.metadata?.resourceVersion));
    }
    for (const [key, old] of [...this.#store]) if (!seen.has(key)) this.#remove(old);
    this.#resourceVersion = res.metadata.resourceVersion;
    this.relists++;
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncWaiters.splice(0)) {
        clearTimeout(w.timer);
        w.resolve();
      }
    }
  }

  async #apply(ev: WatchEvent<T>): Promise<"ok" | "gone"> {
    if (ev.type === "ERROR") {
      const st = ev.object;
      if (isStatus(st) && (st.code === 410 || st.reason === "Expired" || st.reason === "Gone")) return "gone";
      throw ApiError.from("WATCH", this.#rt.plural, isStatus(st) ? st.code : 500, st);
    }
    const obj = ev.object as T;
    if (ev.type === "DELETED") this.#remove(obj);
    else if (ev.type !== "BOOKMARK") {
      const meta = (obj.metadata ?? {}) as ObjectMeta;
      if (this.#opts.metadataWatch === true) await this.#applyMetadata(meta);
      else this.#put(obj);
      for (const fn of this.#versionListeners) this.#call(() => fn(meta));
    }
    // Advanced only once the event is applied: a metadata event whose read fails is seen
    // again when the watch restarts from the version before it.
    const rv = obj.metadata?.resourceVersion;
    if (rv !== undefined) this.#resourceVersion = rv;
    return "ok";
  }

  /** Reads a stale stored body again, once per period, off the watch's path. */
  #scheduleRefresh(key: string, meta: ObjectMeta): void {
    if (this.#refreshes.has(key) || this.#abort.signal.aborted) return;
    const timer = setTimeout(() => {
      void this.#client
        .get<T>(this.#rt, meta.name ?? "", meta.namespace)
        .then((full) => {
          this.#refreshes.delete(key);
          if (this.#abort.signal.aborted) return;
          // Not for an object deleted meanwhile (its DELETED event came).
          if (this.#store.has(key)) this.#putRead(key, full);
          this.#refreshIfStale(key, meta);
        })
        .catch((err: unknown) => {
          this.#refreshes.delete(key);
          if (isNotFound(err) || this.#abort.signal.aborted) return;
          this.#opts.onError?.(err);
          this.#refreshIfStale(key, meta);
        });
    }, this.#opts.metadataRefreshMs ?? 10_000);
    timer.unref();
    this.#refreshes.set(key, timer);
  }

  /** Versions that came while a re-read was in flight are read in the next period. */
  #refreshIfStale(key: string, meta: ObjectMeta): void {
    const stored = this.#store.get(key);
    const latest = this.#latest.get(key);
    if (stored !== undefined && latest !== undefined && Number(stored.metadata?.resourceVersion) < latest)
      this.#scheduleRefresh(key, meta);
  }

  /** A metadata-only version: the stored body stands while uid and spec (generation) are the same. */
  async #applyMetadata(meta: ObjectMeta): Promise<void> {
    const key = keyOf({ metadata: meta });
    const rv = Number(meta.resourceVersion);
    const old = this.#store.get(key);
    if (old !== undefined && old.metadata?.uid === meta.uid && sameMetadata(old.metadata, meta)) {
      if (!(rv <= (this.#latest.get(key) ?? -1))) this.#latest.set(key, rv);
      this.#scheduleRefresh(key, meta);
      return;
    }
    let full: T;
    try {
      full = await this.#client.get<T>(this.#rt, meta.name ?? "", meta.namespace);
    } catch (err) {
      // Deleted since: its DELETED event follows on this watch.
      if (isNotFound(err)) return;
      throw err;
    }
    if (this.#abort.signal.aborted) return;
    this.#latest.set(key, Math.max(rv, Number(full.metadata?.resourceVersion), this.#latest.get(key) ?? -1));
    this.#putRead(key, full);
  }

  /** An object read by GET, unless the store holds a newer version of it (a refresh may have read one meanwhile). */
  #putRead(key: string, full: T): void {
    // A GET answers with the object's kind; the store keeps objects as a watch delivers them.
    if (this.#supersedes(key, full)) this.#put({ kind: this.#rt.kind, ...full } as T);
  }

  /** Whether `obj` replaces what the store holds under `key`: nothing, another object (uid), or an older version. */
  #supersedes(key: string, obj: T): boolean {
    const old = this.#store.get(key);
    return (
      old === undefined ||
      old.metadata?.uid !== obj.metadata?.uid ||
      Number(obj.metadata?.resourceVersion) > Number(old.metadata?.resourceVersion)
    );
  }

  async #run(): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 30_000, ...this.#opts.backoff });
    const signal = this.#abort.signal;
    let needList = true;
    while (!signal.aborted) {
      let listing = false;
      try {
        if (needList) {
          listing = true;
          await this.#relist();
          listing = false;
          needList = false;
        }
        const base = this.#opts.watchTimeoutSeconds ?? 300;
        const started = Date.now();
        let events = 0;
        const stream = this.#client.watch<T>(this.#rt, {
          ...(this.#opts.namespace !== undefined ? { namespace: this.#opts.namespace } : {}),
          ...(this.#opts.labelSelector !== undefined ? { labelSelector: this.#opts.labelSelector } : {}),
          ...(this.#opts.fieldSelector !== undefined ? { fieldSelector: this.#opts.fieldSelector } : {}),
          resourceVersion: this.#resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: Math.floor(base + Math.random() * base),
          signal,
          ...(this.#opts.metadataWatch === true
            ? { accept: METADATA_WATCH }
            : {
                ...(this.#known !== undefined ? { known: this.#known } : {}),
                ...(this.#deltas !== undefined ? { deltas: this.#deltas } : {}),
              }),
        });
        for await (const ev of stream) {
          events++;
          if ((await this.#apply(ev)) === "gone") {
            needList = true;
            break;
          }
          backoff.reset();
        }
        // A watch that ends at once without events means a server that closes watches:
        // back off as client-go does, rather than spinning on it.
        if (!needList && events === 0 && Date.now() - started < 1000) await sleep(backoff.next(), signal);
      } catch (err) {
        if (signal.aborted) break;
        // An expired watch relists at once; an error while relisting (an expired continue
        // token among them) waits, so a failing list never spins.
        if (isGone(err) && !listing) {
          needList = true;
          continue;
        }
        if (listing) needList = true;
        this.#opts.onError?.(err);
        await sleep(backoff.next(), signal);
      }
    }
  }
}
