/**
 * Owner-reference garbage collection, as kube-controller-manager's collector does it, run
 * right after the writes that may need it (asynchronously, so a DELETE answers first):
 * Background (dependents whose owners are all gone are deleted), Foreground (the owner
 * waits for dependents with `blockOwnerDeletion`), Orphan (dependents lose the reference),
 * and dependents created after their owners were already gone.
 */
import { FOREGROUND, ORPHAN, removeFinalizer } from "./deletion.ts";
import type { RegistryCore } from "./strategy.ts";
import type { Obj } from "./store.ts";

export class GarbageCollector {
  readonly #core: RegistryCore;
  #scheduled = false;
  readonly #pending = new Set<string>();
  readonly #dangling = new Set<string>();

  constructor(core: RegistryCore) {
    this.#core = core;
  }

  /** Looks at the object with `uid` (existing or gone) and its dependents soon. */
  schedule(uid: string | undefined): void {
    if (uid !== undefined) this.#pending.add(uid);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const uids = [...this.#pending];
      this.#pending.clear();
      for (const u of uids) this.#collect(u);
      const dangling = [...this.#dangling];
      this.#dangling.clear();
      for (const u of dangling) this.#collectDangling(u);
    });
  }

  /** A dependent whose owners are already gone is collected too, as kube's GC does. */
  checkOwners(obj: Obj): void {
    const refs = obj.metadata.ownerReferences ?? [];
    if (refs.length === 0 || obj.metadata.deletionTimestamp !== undefined) return;
    const store = this.#core.store;
    if (refs.some((o) => o.uid !== undefined && store.locate(o.uid) === undefined))
      this.#dangling.add(obj.metadata.uid ?? "");
    if (this.#dangling.size > 0) this.schedule(undefined);
  }

  /** One step for the object with `uid` (existing or gone) and its dependents. */
  #collect(uid: string): void {
    const core = this.#core;
    const found = core.store.locate(uid);
    if (found !== undefined) {
      const { object } = found;
      const r = core.resourceOf(found.location.resource);
      if (r === undefined || object.metadata.deletionTimestamp === undefined) return;
      if (core.strategy(r).collect?.(object) === true) return;
      const fins = object.metadata.finalizers ?? [];
      if (fins.includes(ORPHAN)) {
        for (const dep of core.store.dependentsOf(uid)) this.#dropOwnerRef(dep, uid);
        removeFinalizer(core, r, object, ORPHAN);
        return;
      }
      if (fins.includes(FOREGROUND)) {
        let blocking = 0;
        for (const depUid of core.store.dependentsOf(uid)) {
          const dep = core.store.locate(depUid);
          if (dep === undefined) continue;
          const ref = dep.object.metadata.ownerReferences?.find((o) => o.uid === uid);
          if (ref?.blockOwnerDeletion === true) blocking++;
          const dr = core.resourceOf(dep.location.resource);
          if (dr !== undefined && dep.object.metadata.deletionTimestamp === undefined) {
            core.deleteNow(dr, dep.object, { propagationPolicy: "Foreground" });
          }
        }
        if (blocking === 0) removeFinalizer(core, r, object, FOREGROUND);
      }
      return;
    }
    // The owner is gone: delete dependents whose owners are all gone, drop dangling refs otherwise.
    for (const depUid of core.store.dependentsOf(uid)) {
      const dep = core.store.locate(depUid);
      if (dep === undefined) continue;
      const dr = core.resourceOf(dep.location.resource);
      if (dr === undefined) continue;
      const refs = dep.object.metadata.ownerReferences ?? [];
      const alive = refs.filter((o) => o.uid !== undefined && core.store.locate(o.uid) !== undefined);
      if (alive.length === 0) {
        if (dep.object.metadata.deletionTimestamp === undefined) {
          core.deleteNow(dr, dep.object, { propagationPolicy: "Background" });
        }
      } else {
        this.#dropOwnerRef(depUid, uid);
      }
    }
  }

  #collectDangling(uid: string): void {
    const core = this.#core;
    const dep = core.store.locate(uid);
    if (dep === undefined || dep.object.metadata.deletionTimestamp !== undefined) return;
    const dr = core.resourceOf(dep.location.resource);
    if (dr === undefined) return;
    const refs = dep.object.metadata.ownerReferences ?? [];
    const gone = refs.filter((o) => o.uid === undefined || core.store.locate(o.uid) === undefined);
    if (gone.length === 0) return;
    if (gone.length === refs.length) core.deleteNow(dr, dep.object, { propagationPolicy: "Background" });
    else for (const o of gone) if (o.uid !== undefined) this.#dropOwnerRef(uid, o.uid);
  }

  #dropOwnerRef(depUid: string, ownerUid: string): void {
    const dep = this.#core.store.locate(depUid);
    if (dep === undefined) return;
    const refs = (dep.object.metadata.ownerReferences ?? []).filter((o) => o.uid !== ownerUid);
    const m = { ...dep.object.metadata, ownerReferences: refs };
    if (refs.length === 0) delete (m as { ownerReferences?: unknown }).ownerReferences;
    this.#core.store.commit(dep.location.resource, "MODIFIED", { ...dep.object, metadata: m });
  }
}
