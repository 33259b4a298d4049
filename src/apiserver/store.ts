/**
 * The embedded server's storage: objects per resource, one monotonic resourceVersion for
 * all writes (as etcd's revision), a bounded history of events for watches to resume from,
 * and indexes by uid and by owner uid for garbage collection. Everything here is
 * synchronous, so a read-check-commit sequence without an `await` is atomic.
 */
import type { ObjectMeta } from "../api/meta.ts";

export type Obj = Record<string, unknown> & { metadata: Meta };

/**
 * Stored objects' metadata: the project's one ObjectMeta, plus whatever else a client sent
 * (managedFields, selfLink, ...), which the server keeps as it was given. Owner references
 * have every required field: object-meta.ts refuses writes without them.
 */
export interface Meta extends ObjectMeta {
  [key: string]: unknown;
}

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoredEvent {
  readonly rv: number;
  /** Storage key of the resource (`pods`, `spiderippools.spiderpool.spidernet.io`). */
  readonly resource: string;
  readonly type: EventType;
  readonly object: Obj;
  /** The object before this event (MODIFIED and DELETED), for selector transitions. */
  readonly prev: Obj | undefined;
}

export interface StoreWatcher {
  readonly resource: string;
  deliver(ev: StoredEvent): void;
}

export interface ObjectLocation {
  resource: string;
  key: string;
}

export function objectKey(namespace: string | undefined, name: string): string {
  return namespace !== undefined && namespace !== "" ? `${namespace}/${name}` : name;
}

export class Store {
  #rv = 0;
  readonly #objects = new Map<string, Map<string, Obj>>();
  readonly #history: StoredEvent[] = [];
  #historyStart = 0;
  readonly #capacity: number;
  /** Events at or below this revision are no longer in the history. */
  #compactedRV = 0;
  readonly #watchers = new Map<string, Set<StoreWatcher>>();
  readonly #byUid = new Map<string, ObjectLocation>();
  readonly #byOwner = new Map<string, Set<string>>();

  readonly #random: () => number;

  /** @param random picks where each event's fan-out starts (tests make it deterministic). */
  constructor(historyCapacity = 10_000, random: () => number = Math.random) {
    this.#capacity = historyCapacity;
    this.#random = random;
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  get compactedResourceVersion(): number {
    return this.#compactedRV;
  }

  #bucket(resource: string): Map<string, Obj> {
    let b = this.#objects.get(resource);
    if (b === undefined) this.#objects.set(resource, (b = new Map()));
    return b;
  }

  get(resource: string, key: string): Obj | undefined {
    return this.#objects.get(resource)?.get(key);
  }

  /** Objects of a resource, sorted by key; only one namespace when given. */
  list(resource: string, namespace?: string): Obj[] {
    const b = this.#objects.get(resource);
    if (b === undefined) return [];
    const out: Obj[] = [];
    for (const [k, o] of b) {
      if (namespace === undefined || namespace === "" || o.metadata.namespace === namespace) out.push(o);
      void k;
    }
    return out.sort((a, c) => {
      const ka = objectKey(a.metadata.namespace, a.metadata.name ?? "");
      const kc = objectKey(c.metadata.namespace, c.metadata.name ?? "");
      return ka < kc ? -1 : ka > kc ? 1 : 0;
    });
  }

  resources(): string[] {
    return [...this.#objects.keys()];
  }

  count(resource: string, namespace?: string): number {
    if (namespace === undefined) return this.#objects.get(resource)?.size ?? 0;
    return this.list(resource, namespace).length;
  }

  locate(uid: string): { location: ObjectLocation; object: Obj } | undefined {
    const loc = this.#byUid.get(uid);
    if (loc === undefined) return undefined;
    const object = this.get(loc.resource, loc.key);
    return object === undefined ? undefined : { location: loc, object };
  }

  /** Uids of objects that list `ownerUid` in their ownerReferences. */
  dependentsOf(ownerUid: string): string[] {
    return [...(this.#byOwner.get(ownerUid) ?? [])];
  }

  #indexOwners(obj: Obj | undefined, add: boolean): void {
    const uid = obj?.metadata.uid;
    if (obj === undefined || uid === undefined) return;
    for (const ref of obj.metadata.ownerReferences ?? []) {
      if (ref.uid === undefined) continue;
      let set = this.#byOwner.get(ref.uid);
      if (add) {
        if (set === undefined) this.#byOwner.set(ref.uid, (set = new Set()));
        set.add(uid);
      } else {
        set?.delete(uid);
        if (set?.size === 0) this.#byOwner.delete(ref.uid);
      }
    }
  }

  /**
   * Writes an object (ADDED/MODIFIED) or removes it (DELETED): assigns the next
   * resourceVersion, records the event and hands it to the watchers of the resource.
   */
  commit(resource: string, type: EventType, obj: Obj): Obj {
    const key = objectKey(obj.metadata.namespace, obj.metadata.name ?? "");
    const bucket = this.#bucket(resource);
    const prev = bucket.get(key);
    this.#rv++;
    const stored: Obj = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.#rv) } };
    this.#indexOwners(prev, false);
    if (type === "DELETED") {
      bucket.delete(key);
      if (prev?.metadata.uid !== undefined) this.#byUid.delete(prev.metadata.uid);
    } else {
      bucket.set(key, stored);
      if (stored.metadata.uid !== undefined) this.#byUid.set(stored.metadata.uid, { resource, key });
      this.#indexOwners(stored, true);
    }
    const ev: StoredEvent = { rv: this.#rv, resource, type, object: stored, prev };
    this.#record(ev);
    const ws = this.#watchers.get(resource);
    if (ws !== undefined && ws.size > 0) {
      // Each event reaches the watchers from a random one on, as in kube-apiserver, whose
      // cacher hands an event to its watchers in Go's map order, different at every event.
      // Watchers write in the order they are handed an event, so a fixed order would give
      // the first-registered watchers every version first, and of writers racing for one
      // object those would win most (docs/performance.md, fifth session on issue 16).
      const list = [...ws];
      const from = Math.floor(this.#random() * list.length) % list.length;
      for (let i = 0; i < list.length; i++) (list[(from + i) % list.length] as StoreWatcher).deliver(ev);
    }
    return stored;
  }

  #record(ev: StoredEvent): void {
    this.#history.push(ev);
    if (this.#history.length - this.#historyStart > this.#capacity) {
      const dropped = this.#history[this.#historyStart] as StoredEvent;
      this.#compactedRV = dropped.rv;
      this.#historyStart++;
      // Compact the array now and then rather than shifting on every write.
      if (this.#historyStart > this.#capacity) {
        this.#history.splice(0, this.#historyStart);
        this.#historyStart = 0;
      }
    }
  }

  /** Events of `resource` after `rv`, or "expired" when the history no longer reaches back that far. */
  eventsSince(resource: string, rv: number): StoredEvent[] | "expired" {
    if (rv < this.#compactedRV) return "expired";
    const out: StoredEvent[] = [];
    // Binary search for the first event with a revision above rv.
    let lo = this.#historyStart;
    let hi = this.#history.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#history[mid] as StoredEvent).rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.#history.length; i++) {
      const ev = this.#history[i] as StoredEvent;
      if (ev.resource === resource) out.push(ev);
    }
    return out;
  }

  /** Drops the whole history, as etcd compaction would; watches from older revisions get 410. */
  compact(): void {
    this.#compactedRV = this.#rv;
    this.#history.length = 0;
    this.#historyStart = 0;
  }

  addWatcher(w: StoreWatcher): void {
    let set = this.#watchers.get(w.resource);
    if (set === undefined) this.#watchers.set(w.resource, (set = new Set()));
    set.add(w);
  }

  removeWatcher(w: StoreWatcher): void {
    this.#watchers.get(w.resource)?.delete(w);
  }

  watcherCount(): number {
    let n = 0;
    for (const s of this.#watchers.values()) n += s.size;
    return n;
  }
}
